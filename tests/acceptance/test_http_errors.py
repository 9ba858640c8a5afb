"""Bad input gets a clear 4xx in the error format, changes nothing, and never a 500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from spark.db.executor import Database
from spark.db.models import JobRow
from tests.support.jobs import auth

GOOD = {"prompt": "a door that opens when the player comes near", "class_name": "Door"}


def job_count(db: Database) -> int:
    with db.transaction() as tx:
        return int(tx.scalar(select(func.count()).select_from(JobRow)) or 0)


def assert_error(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert set(error) <= {"code", "message", "details"} and error["message"]
    if code is not None:
        assert error["code"] == code
    return dict(error)


BAD_PARAMS = [
    ({"prompt": "too short"}, "params.prompt"),
    ({"prompt": "x" * 10_001}, "params.prompt"),
    ({"class_name": "Door"}, "params.prompt"),
    ({**GOOD, "class_name": "door"}, "params.class_name"),
    ({**GOOD, "class_name": "Door Frame"}, "params.class_name"),
    ({**GOOD, "namespace": "1Game"}, "params.namespace"),
    ({**GOOD, "namespace": "Game..Doors"}, "params.namespace"),
    ({**GOOD, "base_class": "Mono Behaviour"}, "params.base_class"),
    ({**GOOD, "path": "../Door.cs"}, "params.path"),
    ({**GOOD, "path": "Assets/../../etc/Door.cs"}, "params.path"),
    ({**GOOD, "path": "/Assets/Door.cs"}, "params.path"),
    ({**GOOD, "path": "Packages/Door.cs"}, "params.path"),
    ({**GOOD, "path": "Assets/Door.txt"}, "params.path"),
    ({**GOOD, "path": "Assets/Do\u0000or.cs"}, "params.path"),
    ({**GOOD, "path": "C:/Assets/Door.cs"}, "params.path"),
    ({**GOOD, "reasoning": "wild"}, "params.reasoning"),
    ({**GOOD, "include_comments": "maybe"}, "params.include_comments"),
    ({**GOOD, "write_to_project": True}, "params.write_to_project"),
    ({**GOOD, "colour": "red"}, "params.colour"),
]


@pytest.mark.parametrize(("params", "field"), BAD_PARAMS)
def test_each_bad_generate_script_field_is_a_422_naming_it(
    client: TestClient, api_key: str, db: Database, params: dict[str, Any], field: str
) -> None:
    """The error's details.field names exactly the offending field, and no job is created."""
    resp = client.post(
        "/v1/jobs", json={"kind": "generate_script", "params": params}, headers=auth(api_key)
    )
    error = assert_error(resp, 422, "validation_error")
    assert error["details"]["field"] == field
    assert job_count(db) == 0


BAD_ENVELOPES = [
    ({"kind": "bake_cake", "params": GOOD}, "kind"),
    ({"params": GOOD}, "kind"),
    ({"kind": "generate_script", "params": GOOD, "session_id": "bad session!"}, "session_id"),
    ({"kind": "generate_script", "params": GOOD, "priority": 12}, "priority"),
    ({"kind": "generate_script", "params": GOOD, "project_id": "nope"}, "project_id"),
    ({"kind": "generate_script", "params": GOOD, "owner": "mallory"}, "owner"),
    ({"kind": "generate_script", "params": "prompt"}, "params"),
    ([{"kind": "generate_script"}], "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_ENVELOPES)
def test_each_bad_submission_field_is_a_422_naming_it(
    client: TestClient, api_key: str, db: Database, body: Any, field: str
) -> None:
    """Kind, session, priority, project and unknown top-level fields are checked too."""
    resp = client.post("/v1/jobs", json=body, headers=auth(api_key))
    assert assert_error(resp, 422)["details"]["field"] == field
    assert job_count(db) == 0


def test_malformed_json_is_400(client: TestClient, api_key: str) -> None:
    """A body that is not JSON at all is a 400."""
    resp = client.post(
        "/v1/jobs",
        content=b'{"kind": ',
        headers={**auth(api_key), "Content-Type": "application/json"},
    )
    assert_error(resp, 400, "bad_request")


def test_non_json_content_type_is_415(client: TestClient, api_key: str) -> None:
    """Form posts and plain text are refused with 415."""
    resp = client.post(
        "/v1/jobs",
        content=b"kind=generate_script",
        headers={**auth(api_key), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(resp, 415, "unsupported_media_type")


def test_body_over_one_megabyte_is_413(client: TestClient, api_key: str, db: Database) -> None:
    """A body over 1 MB is refused before it is parsed."""
    body = b'{"kind": "generate_script", "params": {"prompt": "' + b"x" * 1_100_000 + b'"}}'
    resp = client.post(
        "/v1/jobs", content=body, headers={**auth(api_key), "Content-Type": "application/json"}
    )
    assert_error(resp, 413, "payload_too_large")
    assert job_count(db) == 0


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/jobs/{uuid.uuid4()}",
        "/v1/jobs/not-a-uuid",
        "/v1/jobs/1",
        f"/v1/jobs/{uuid.uuid4()}/cancel",
    ],
)
def test_unknown_or_malformed_job_ids_are_404(client: TestClient, api_key: str, path: str) -> None:
    """Unknown ids and ids that are not UUIDs are both plain 404s."""
    method = client.post if path.endswith("/cancel") else client.get
    assert_error(method(path, headers=auth(api_key)), 404, "not_found")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic YTpi"},
        {"X-API-Key": "spk_0123456789abcdef_" + "a" * 43},
    ],
)
def test_missing_or_bad_credentials_are_401(client: TestClient, headers: dict[str, str]) -> None:
    """Every job route needs a valid key."""
    assert_error(client.get("/v1/jobs", headers=headers), 401, "unauthenticated")
    assert_error(client.post("/v1/jobs", json={}, headers=headers), 401)


def test_x_api_key_header_is_accepted(client: TestClient, api_key: str) -> None:
    """X-API-Key works as well as a bearer token."""
    assert client.get("/v1/jobs", headers={"X-API-Key": api_key}).status_code == 200


def test_a_read_only_key_cannot_submit(client: TestClient, read_only_key: str) -> None:
    """Submitting needs spark:generate."""
    resp = client.post(
        "/v1/jobs", json={"kind": "generate_script", "params": GOOD}, headers=auth(read_only_key)
    )
    assert_error(resp, 403, "forbidden")


def test_another_users_job_is_404_everywhere(
    client: TestClient, api_key: str, other_key: str
) -> None:
    """Mallory can neither read, cancel nor list alice's job, nor tell it exists."""
    job = client.post(
        "/v1/jobs", json={"kind": "generate_script", "params": GOOD}, headers=auth(api_key)
    ).json()
    assert_error(client.get(f"/v1/jobs/{job['id']}", headers=auth(other_key)), 404)
    assert_error(client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth(other_key)), 404)
    assert client.get("/v1/jobs", headers=auth(other_key)).json()["items"] == []
    assert client.get(f"/v1/jobs/{job['id']}", headers=auth(api_key)).status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=sleeping", "state"),
        ("kind=nap", "kind"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("cursor=%%%", "cursor"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("project_id=nope", "project_id"),
    ],
)
def test_bad_list_queries_are_422(client: TestClient, api_key: str, query: str, field: str) -> None:
    """Listing filters are validated like bodies."""
    resp = client.get(f"/v1/jobs?{query}", headers=auth(api_key))
    assert assert_error(resp, 422)["details"]["field"] == field


def test_an_unknown_list_parameter_is_a_400_naming_it(client: TestClient, api_key: str) -> None:
    """A misspelt filter is not silently ignored: the caller learns which one and what is taken."""
    resp = client.get("/v1/jobs?colour=red", headers=auth(api_key))
    error = assert_error(resp, 400, "bad_request")
    assert error["details"]["field"] == "colour" and "state" in error["message"]


def test_wrong_method_is_405_in_the_error_format(client: TestClient, api_key: str) -> None:
    """Even routing errors use the error body."""
    assert_error(client.delete("/v1/jobs", headers=auth(api_key)), 405, "method_not_allowed")


def test_idempotency_key_replays_and_conflicts_over_http(client: TestClient, api_key: str) -> None:
    """Same key + body → the same job (202, marked replayed); same key + other body → 409."""
    body = {"kind": "generate_script", "params": GOOD}
    headers = {**auth(api_key), "Idempotency-Key": "editor-42"}
    first = client.post("/v1/jobs", json=body, headers=headers)
    again = client.post("/v1/jobs", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = {"kind": "generate_script", "params": {**GOOD, "class_name": "Gate"}}
    assert_error(
        client.post("/v1/jobs", json=other, headers=headers), 409, "idempotency_key_reused"
    )
