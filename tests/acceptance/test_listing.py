"""GET /v1/jobs: own jobs only, newest first, filtered, paged with an opaque cursor."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from tests.support.jobs import auth

PARAMS = {"prompt": "a health pickup that heals the player", "class_name": "HealthPickup"}


def submit(client: TestClient, key: str, **extra: object) -> str:
    body = {"kind": "generate_script", "params": PARAMS, **extra}
    resp = client.post("/v1/jobs", json=body, headers=auth(key))
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def test_pages_walk_every_job_once_newest_first(client: TestClient, api_key: str) -> None:
    """Following next_cursor visits each of the caller's jobs exactly once, newest first."""
    ids = [submit(client, api_key) for _ in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/jobs", params=query, headers=auth(api_key)).json()
        assert len(page["items"]) <= 3
        seen += [job["id"] for job in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


def test_filters_narrow_the_list(client: TestClient, api_key: str, tmp_path: Path) -> None:
    """kind, state, session_id and project_id each filter the listing."""
    body = {"name": "Listed", "source_dir": str(tmp_path)}
    project = client.post("/v1/projects", json=body, headers=auth(api_key)).json()["id"]
    in_session = submit(client, api_key, session_id="level-1")
    in_project = submit(client, api_key, project_id=project)
    submit(client, api_key)
    by_session = client.get("/v1/jobs?session_id=level-1", headers=auth(api_key)).json()
    assert [j["id"] for j in by_session["items"]] == [in_session]
    by_project = client.get(f"/v1/jobs?project_id={project}", headers=auth(api_key)).json()
    assert [j["id"] for j in by_project["items"]] == [in_project]
    queued = client.get("/v1/jobs?state=queued&kind=generate_script", headers=auth(api_key)).json()
    assert len(queued["items"]) == 3
    assert client.get("/v1/jobs?state=failed", headers=auth(api_key)).json()["items"] == []


def test_a_job_naming_someone_elses_project_is_refused_as_unknown(
    client: TestClient, api_key: str, other_key: str, tmp_path: Path
) -> None:
    """project_id must be one of the caller's projects: another's is 404, like a made-up one."""
    body = {"name": "Private", "source_dir": str(tmp_path)}
    theirs = client.post("/v1/projects", json=body, headers=auth(other_key)).json()["id"]
    for project in (theirs, "6f1c2a7e-3b1d-4c8e-9a52-0d3f5b8e7c11"):
        job = {"kind": "generate_script", "params": PARAMS, "project_id": project}
        resp = client.post("/v1/jobs", json=job, headers=auth(api_key))
        assert resp.status_code == 404 and resp.json()["error"]["details"] == {
            "field": "project_id"
        }
    assert client.get("/v1/jobs", headers=auth(api_key)).json()["items"] == []


def test_listing_shows_only_the_callers_jobs(
    client: TestClient, api_key: str, other_key: str
) -> None:
    """Two users' jobs never mix in a listing."""
    mine = submit(client, api_key)
    theirs = submit(client, other_key)
    assert [j["id"] for j in client.get("/v1/jobs", headers=auth(api_key)).json()["items"]] == [
        mine
    ]
    assert [j["id"] for j in client.get("/v1/jobs", headers=auth(other_key)).json()["items"]] == [
        theirs
    ]


def test_job_object_has_every_contract_field(client: TestClient, api_key: str) -> None:
    """The job object carries each field of the contract, with links to its sub-resources."""
    job_id = submit(client, api_key, session_id="s1", priority=7)
    job = client.get(f"/v1/jobs/{job_id}", headers=auth(api_key)).json()
    assert set(job) == {
        "id",
        "kind",
        "state",
        "progress",
        "params",
        "result",
        "error",
        "attempts",
        "session_id",
        "project_id",
        "parent_id",
        "priority",
        "created_at",
        "started_at",
        "finished_at",
        "links",
    }
    assert job["links"] == {
        "self": f"/v1/jobs/{job_id}",
        "events": f"/v1/jobs/{job_id}/events",
        "log": f"/v1/jobs/{job_id}/log",
        "artifacts": f"/v1/jobs/{job_id}/artifacts",
    }
    assert job["priority"] == 7 and job["session_id"] == "s1"
    assert job["params"]["base_class"] == "MonoBehaviour"


def test_health_and_openapi_are_public(client: TestClient) -> None:
    """Health reports each dependency; the OpenAPI document describes the job routes."""
    health = client.get("/v1/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] in {"healthy", "degraded"}
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"
    checks = {"database", "broker", "redis", "nats", "llm", "unity_mcp", "storage", "builds"}
    assert set(body["checks"]) == checks
    assert body["checks"]["storage"] == {"status": "ok"}
    assert body["checks"]["builds"] == {"status": "ok", "targets_without_builder": []}
    spec = client.get("/openapi.json").json()
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/cancel"} <= set(spec["paths"])
    assert "GenerateScriptParams" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_health_is_503_when_the_database_is_down(settings: object) -> None:
    """With the database unreachable the service says unhealthy, with Retry-After."""
    from spark.config import Settings
    from spark.web.app import create_app

    assert isinstance(settings, Settings)
    down = settings.model_copy(
        update={"database_url": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"}
    )
    with TestClient(create_app(down)) as c:
        resp = c.get("/v1/health")
        submit = c.post(
            "/v1/jobs",
            json={"kind": "generate_script", "params": PARAMS},
            headers=auth("spk_0123456789abcdef_" + "a" * 43),
        )
    assert submit.status_code == 503 and submit.json()["error"]["code"] == "service_unavailable"
    assert submit.headers["retry-after"]
    assert resp.status_code == 503 and resp.headers["retry-after"]
    assert resp.json()["status"] == "unhealthy" and resp.json()["checks"]["database"] == "down"
