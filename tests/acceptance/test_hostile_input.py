"""Hostile input never reaches the database or a recursion limit: deep JSON is a 400, text
the database cannot store is a 422 naming the field, a forged cursor is a 422 — never a 500."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from starlette.testclient import TestClient

from tests.support.jobs import TURRET, auth

JSON = {"Content-Type": "application/json"}


def cursor_of(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("opener,closer", [("[", "]"), ('{"a":', "}")])
@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/projects"])
def test_json_nested_ten_thousand_deep_is_a_400(
    client: TestClient, api_key: str, path: str, opener: str, closer: str
) -> None:
    """Arrays and objects alike, on every route that reads a body."""
    body = opener * 10_000 + "1" + closer * 10_000
    resp = client.post(path, content=body, headers={**auth(api_key), **JSON})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "bad_request"


def test_json_just_past_the_depth_bound_is_a_400_and_within_it_is_judged_on_its_fields(
    client: TestClient, api_key: str
) -> None:
    """Depth 40 is refused before validation; a normal job body passes the bound."""
    deep = {"kind": "generate_script", "params": {"prompt": "x" * 20}}
    node: dict[str, object] = deep["params"]  # type: ignore[assignment]
    for _ in range(40):
        node["n"] = {}
        node = node["n"]  # type: ignore[assignment]
    resp = client.post("/v1/jobs", json=deep, headers=auth(api_key))
    assert resp.status_code == 400
    assert client.post("/v1/jobs", json=TURRET, headers=auth(api_key)).status_code == 202


@pytest.mark.parametrize(
    "body,field",
    [
        (
            {**TURRET, "params": {**TURRET["params"], "prompt": "a turret\u0000that fires"}},
            "params.prompt",
        ),
        ({**TURRET, "session_id": "s\u0000"}, "session_id"),
        ({**TURRET, "params": {**TURRET["params"], "bad\u0000key": 1}}, "params.bad\u0000key"),
    ],
)
def test_nul_in_any_text_of_a_job_is_a_422_naming_the_field(
    client: TestClient, api_key: str, body: dict[str, object], field: str
) -> None:
    """NUL cannot be stored by Postgres: refused at the edge, wherever it appears."""
    resp = client.post("/v1/jobs", json=body, headers=auth(api_key))
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"]["field"] == field


def test_nul_and_lone_surrogates_in_a_project_are_422s(client: TestClient, api_key: str) -> None:
    """The same rule for every body: a project name with NUL, a source dir with a lone surrogate."""
    resp = client.post(
        "/v1/projects", json={"name": "Game\u0000", "source_dir": "/srv/g"}, headers=auth(api_key)
    )
    assert resp.status_code == 422 and resp.json()["error"]["details"]["field"] == "name"
    raw = '{"name": "Game", "source_dir": "/srv/\\ud800"}'
    resp = client.post("/v1/projects", content=raw, headers={**auth(api_key), **JSON})
    assert resp.status_code == 422 and resp.json()["error"]["details"]["field"] == "source_dir"


@pytest.mark.parametrize(
    "cursor",
    [
        cursor_of(["2026-01-01T00:00:00+00:00", 12345]),
        cursor_of([12345, uuid.uuid4().hex]),
        cursor_of(["2026-01-01T00:00:00", uuid.uuid4().hex]),
        cursor_of({"created_at": "2026-01-01T00:00:00+00:00"}),
        cursor_of(["2026-01-01T00:00:00+00:00", uuid.uuid4().hex, "extra"]),
        cursor_of(["2026-01-01T00:00:00+00:00", "not-hex"]),
        base64.urlsafe_b64encode(("[" * 5000 + "]" * 5000).encode()).decode(),
        "%%%not base64",
        "\u00e9t\u00e9",
    ],
)
def test_a_forged_cursor_is_a_422(client: TestClient, api_key: str, cursor: str) -> None:
    """Well-formed base64 holding the wrong types, too deep, or not base64 at all."""
    resp = client.get("/v1/jobs", params={"cursor": cursor}, headers=auth(api_key))
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"]["field"] == "cursor"


def test_the_api_still_answers_after_the_hostile_list(client: TestClient, api_key: str) -> None:
    """Nothing above leaves the process unwell."""
    client.post("/v1/jobs", content="[" * 50_000, headers={**auth(api_key), **JSON})
    assert client.get("/v1/health").status_code == 200
    assert client.get("/v1/jobs", headers=auth(api_key)).status_code == 200
