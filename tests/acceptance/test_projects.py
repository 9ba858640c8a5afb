"""/v1/projects: register with one source or none (the file store), secrets shown once, own
projects only, paged."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from spark.db import webhooks as webhook_queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.projects import Delivery
from tests.support.jobs import auth

HOOK = "https://ci.example.com/hooks/spark"
SECRET = "s3cret-s3cret-s3cret"
#: well-formed but forged: a timestamp without a zone, which SPARK never hands out
NAIVE_CURSOR = (
    base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00", uuid.uuid4().hex]).encode())
    .decode()
    .rstrip("=")
)


def dir_project(name: str = "Space Shooter", **extra: Any) -> dict[str, Any]:
    return {"name": name, "source_dir": "/srv/unity/space-shooter", **extra}


def create(client: TestClient, key: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = client.post("/v1/projects", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()
    return created


def test_a_directory_project_is_created_and_its_webhook_secret_shown_only_once(
    client: TestClient, api_key: str
) -> None:
    """POST answers 201 with Location and the secret; GET shows the webhook without it."""
    body = dir_project(
        unity_mcp_url="http://localhost:8080/mcp",
        webhooks=[{"url": HOOK, "secret": SECRET}],
    )
    resp = client.post("/v1/projects", json=body, headers=auth(api_key))
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert resp.headers["location"] == f"/v1/projects/{created['id']}"
    assert created["source"] == {"dir": "/srv/unity/space-shooter"}
    assert created["unity_mcp_url"] == "http://localhost:8080/mcp"
    assert created["unity_instance"] is None
    assert created["default_ref"] is None
    assert created["webhooks"][0]["url"] == HOOK
    assert created["webhooks"][0]["secret"] == SECRET
    assert created["links"] == {
        "self": f"/v1/projects/{created['id']}",
        "deliveries": f"/v1/projects/{created['id']}/deliveries",
    }
    shown = client.get(resp.headers["location"], headers=auth(api_key))
    assert shown.status_code == 200
    assert shown.json()["webhooks"] == [{"id": created["webhooks"][0]["id"], "url": HOOK}]
    assert SECRET not in shown.text
    assert SECRET not in client.get("/v1/projects", headers=auth(api_key)).text


def test_a_git_project_keeps_its_url_and_ref_and_gets_a_generated_secret(
    client: TestClient, api_key: str
) -> None:
    """A git source is shown as {git_url}; a webhook given no secret gets a long random one."""
    body = {
        "name": "platformer",
        "git_url": "git@github.com:studio/platformer.git",
        "default_ref": "release/1.2",
        "webhooks": [{"url": HOOK}, {"url": "http://127.0.0.1:9000/built"}],
    }
    created = create(client, api_key, body)
    assert created["source"] == {"git_url": "git@github.com:studio/platformer.git"}
    assert created["default_ref"] == "release/1.2"
    first, second = (hook["secret"] for hook in created["webhooks"])
    assert len(first) >= 40 and first != second
    assert [h["url"] for h in created["webhooks"]] == [HOOK, "http://127.0.0.1:9000/built"]


def test_a_project_with_both_sources_is_a_422_naming_git_url(
    client: TestClient, api_key: str
) -> None:
    body = {"name": "both", "source_dir": "/srv/p", "git_url": "https://git.example.com/p.git"}
    resp = client.post("/v1/projects", json=body, headers=auth(api_key))
    assert resp.status_code == 422
    assert resp.json()["error"]["details"]["field"] == "git_url"


def test_a_project_without_a_source_is_sparks_file_store_alone(
    client: TestClient, api_key: str
) -> None:
    """Neither source_dir nor git_url: its files are the project's whole source."""
    created = create(client, api_key, {"name": "imported"})
    assert created["source"] == {"files": True}
    shown = client.get(f"/v1/projects/{created['id']}", headers=auth(api_key)).json()
    assert shown["source"] == {"files": True}


@pytest.mark.parametrize(
    "url",
    [
        "git://127.0.0.1:9418/studio/game.git",
        "http://127.0.0.1:8080/git/game.git",
        "https://git.example.com/studio/game.git",
        "ssh://git@git.example.com/studio/game.git",
    ],
)
def test_a_git_server_url_is_registered_as_it_is(
    client: TestClient, api_key: str, url: str
) -> None:
    """A git daemon or a smart-HTTP server: the builders clone it, the API reads nothing."""
    assert create(client, api_key, {"name": "remote", "git_url": url})["source"] == {"git_url": url}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "-leading dash"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"source_dir": "relative/dir"}, "source_dir"),
        ({"source_dir": "/srv/bad\u0000dir"}, "source_dir"),
        ({"source_dir": None, "git_url": "-oProxyCommand=touch /tmp/x"}, "git_url"),
        ({"source_dir": None, "git_url": "git@-oProxyCommand=x:repo"}, "git_url"),
        ({"source_dir": None, "git_url": "ssh://-oProxyCommand=x/repo"}, "git_url"),
        ({"source_dir": None, "git_url": "ext::sh-c-touch"}, "git_url"),
        ({"source_dir": None, "git_url": "https://example.com/a repo.git"}, "git_url"),
        ({"default_ref": "--upload-pack=evil"}, "default_ref"),
        ({"unity_mcp_url": "ftp://localhost/mcp"}, "unity_mcp_url"),
        ({"webhooks": [{"url": "not a url"}]}, "webhooks.0.url"),
        ({"webhooks": [{"url": HOOK, "secret": "short"}]}, "webhooks.0.secret"),
        ({"webhooks": [{"url": HOOK}] * 11}, "webhooks"),
        ({"owner": "mallory"}, "owner"),
        ({"unity_instance": "Game@a1b2\u0000"}, "unity_instance"),
        ({"unity_instance": "G" * 101 + "@a1b2c3d4"}, "unity_instance"),
        ({"unity_instance": "Game@a1@b2"}, "unity_instance"),
    ],
)
def test_a_bad_field_is_422_naming_it(
    client: TestClient, api_key: str, change: dict[str, Any], field: str
) -> None:
    """Each invalid field is refused with its dotted name in the error details."""
    body = {k: v for k, v in {**dir_project(), **change}.items() if v is not None}
    resp = client.post("/v1/projects", json=body, headers=auth(api_key))
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"]["field"] == field


def test_a_project_names_the_unity_instance_its_editor_work_goes_to(
    client: TestClient, api_key: str
) -> None:
    body = dir_project(unity_mcp_url="http://localhost:8080/mcp", unity_instance="Space@a1b2c3d4")
    created = create(client, api_key, body)
    assert created["unity_instance"] == "Space@a1b2c3d4"
    shown = client.get(f"/v1/projects/{created['id']}", headers=auth(api_key)).json()
    assert shown["unity_instance"] == "Space@a1b2c3d4"


def test_a_second_project_of_the_same_name_is_a_conflict(
    client: TestClient, api_key: str, other_key: str
) -> None:
    """One user cannot reuse a name (409); another user can (for a directory of their own)."""
    create(client, api_key, dir_project())
    again = client.post("/v1/projects", json=dir_project(), headers=auth(api_key))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert "Space Shooter" in again.json()["error"]["message"]
    create(client, other_key, dir_project(source_dir="/srv/unity/their-space-shooter"))


def test_users_see_only_their_own_projects(
    client: TestClient, api_key: str, other_key: str
) -> None:
    """Another user's listing is empty, and their GETs of its id and deliveries are 404."""
    project_id = create(client, api_key, dir_project())["id"]
    assert client.get("/v1/projects", headers=auth(other_key)).json()["items"] == []
    assert client.get(f"/v1/projects/{project_id}", headers=auth(other_key)).status_code == 404
    deliveries = client.get(f"/v1/projects/{project_id}/deliveries", headers=auth(other_key))
    assert deliveries.status_code == 404
    mine = client.get("/v1/projects", headers=auth(api_key)).json()["items"]
    assert [p["id"] for p in mine] == [project_id]


def test_a_read_only_key_may_read_projects_but_not_create_them(
    client: TestClient, api_key: str, read_only_key: str
) -> None:
    """Creating needs spark:generate or spark:build (403); listing needs only spark:read."""
    resp = client.post("/v1/projects", json=dir_project(), headers=auth(read_only_key))
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"
    create(client, api_key, dir_project())
    listed = client.get("/v1/projects", headers=auth(read_only_key))
    assert listed.status_code == 200 and len(listed.json()["items"]) == 1


def test_pages_walk_every_project_once_newest_first(client: TestClient, api_key: str) -> None:
    """Following next_cursor visits each of the caller's projects exactly once, newest first."""
    ids = [create(client, api_key, dir_project(f"game {i}"))["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/projects", params=query, headers=auth(api_key)).json()
        assert len(page["items"]) <= 2
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": NAIVE_CURSOR}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
    ],
)
def test_a_bad_listing_query_is_422(
    client: TestClient, api_key: str, query: dict[str, str], field: str
) -> None:
    """A cursor that is not ours, or a limit outside 1..100, is a 422 naming the parameter."""
    resp = client.get("/v1/projects", params=query, headers=auth(api_key))
    assert resp.status_code == 422
    assert resp.json()["error"]["details"]["field"] == field


def test_an_unknown_or_non_uuid_project_id_is_404(client: TestClient, api_key: str) -> None:
    """Ids that are not UUIDs, or name nothing, are 404 in the error format."""
    for path in ("/v1/projects/not-a-uuid", f"/v1/projects/{uuid.uuid4()}"):
        resp = client.get(path, headers=auth(api_key))
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "not_found"
    assert client.get("/v1/projects/42/deliveries", headers=auth(api_key)).status_code == 404


def attempt(
    delivery_id: uuid.UUID, webhook_id: uuid.UUID, job_id: uuid.UUID, number: int, *, ok: bool
) -> Delivery:
    """A delivery attempt as the webhook sender records it: 200 if ok, else 502."""
    return Delivery(
        id=uuid.uuid4(),
        delivery_id=delivery_id,
        webhook_id=webhook_id,
        url=HOOK,
        job_id=job_id,
        attempt=number,
        ok=ok,
        status_code=200 if ok else 502,
        error=None if ok else "HTTP 502",
        duration_ms=12,
        created_at=utcnow(),
    )


def test_deliveries_list_each_attempt_newest_first(
    client: TestClient, api_key: str, db: Database
) -> None:
    """The deliveries route shows every recorded attempt with its webhook's URL."""
    created = create(client, api_key, dir_project(webhooks=[{"url": HOOK}]))
    webhook_id, job_id = uuid.UUID(created["webhooks"][0]["id"]), uuid.uuid4()
    delivery_id = uuid.uuid4()
    with db.transaction() as tx:
        webhook_queries.claim_attempt(tx, attempt(delivery_id, webhook_id, job_id, 1, ok=False))
        webhook_queries.claim_attempt(tx, attempt(delivery_id, webhook_id, job_id, 2, ok=True))
    resp = client.get(f"/v1/projects/{created['id']}/deliveries", headers=auth(api_key))
    assert resp.status_code == 200
    items = resp.json()["items"]
    assert [(d["attempt"], d["ok"], d["status_code"]) for d in items] == [
        (2, True, 200),
        (1, False, 502),
    ]
    assert items[1] == {
        "delivery_id": str(delivery_id),
        "webhook_id": str(webhook_id),
        "url": HOOK,
        "job_id": str(job_id),
        "attempt": 1,
        "ok": False,
        "status_code": 502,
        "error": "HTTP 502",
        "duration_ms": 12,
        "created_at": items[1]["created_at"],
    }


def test_the_openapi_document_describes_the_project_routes(client: TestClient) -> None:
    """The project routes and their bodies are in /openapi.json."""
    spec = client.get("/openapi.json").json()
    assert {
        "/v1/projects",
        "/v1/projects/{project_id}",
        "/v1/projects/{project_id}/deliveries",
    } <= set(spec["paths"])
    assert {"ProjectIn", "ProjectOut", "CreatedProjectOut"} <= set(spec["components"]["schemas"])
