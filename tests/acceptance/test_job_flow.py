"""A generate_script job from POST to succeeded, through the API and a real Celery worker."""

from __future__ import annotations

import time
from typing import Any

from starlette.testclient import TestClient

from spark.db import jobs as job_queries
from spark.db.executor import Database
from spark.engines.unity.csharp import check_syntax
from tests.support.jobs import assert_result_matches_its_model, auth
from tests.support.workers import WorkerProcess

PROMPT = {"prompt": "an enemy that patrols, takes damage and dies", "class_name": "EnemyPatrol"}


def wait_for(
    client: TestClient, key: str, job_id: str, timeout: float = 20.0
) -> list[dict[str, Any]]:
    """Poll the job until it ends; returns every distinct state snapshot seen."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=auth(key)).json()
        if not seen or seen[-1]["state"] != job["state"]:
            seen.append(job)
        if job["state"] in {"succeeded", "failed", "canceled", "timed_out"}:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish: {seen[-1] if seen else None}")


def test_submitted_job_is_polled_to_success_with_a_parsing_script(
    client: TestClient, api_key: str, worker: WorkerProcess, db: Database
) -> None:
    """POST answers 202 + Location; polling shows queued/running, then succeeded with C# that parses."""
    resp = client.post(
        "/v1/jobs", json={"kind": "generate_script", "params": PROMPT}, headers=auth(api_key)
    )
    assert resp.status_code == 202
    job = resp.json()
    assert resp.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["state"] == "queued"
    states = [s["state"] for s in wait_for(client, api_key, job["id"])]
    assert states[-1] == "succeeded", states
    assert set(states[:-1]) <= {"queued", "running"}
    final = client.get(resp.headers["location"], headers=auth(api_key)).json()
    assert final["progress"]["percent"] == 100
    assert final["result"]["class_name"] == "EnemyPatrol"
    assert final["result"]["path"] == "Assets/Scripts/EnemyPatrol.cs"
    assert "class EnemyPatrol : MonoBehaviour" in final["result"]["code"]
    assert check_syntax(final["result"]["code"]) == ()
    assert_result_matches_its_model("generate_script", final["result"])
    with db.transaction() as tx:
        row = job_queries.get_job(tx, __import__("uuid").UUID(job["id"]))
    assert row is not None and row.attempts == 1
    assert row.started_at is not None and row.finished_at is not None
    assert row.created_at <= row.started_at <= row.finished_at
    assert row.result is not None and row.result["code"] == final["result"]["code"]


def test_a_message_delivered_twice_runs_the_handler_once(
    client: TestClient, api_key: str, worker: WorkerProcess, db: Database, settings: object
) -> None:
    """Two more copies of a job's message reach the worker; the job still ran exactly once."""
    import uuid

    from spark.broker.app import create_celery
    from spark.broker.dispatch import CeleryDispatcher
    from spark.config import Settings
    from spark.domain.jobs import JobKind

    assert isinstance(settings, Settings)
    resp = client.post(
        "/v1/jobs", json={"kind": "generate_script", "params": PROMPT}, headers=auth(api_key)
    )
    job_id = uuid.UUID(resp.json()["id"])
    dispatcher = CeleryDispatcher(create_celery(settings))
    dispatcher.send(job_id, JobKind.GENERATE_SCRIPT, 5)
    dispatcher.send(job_id, JobKind.GENERATE_SCRIPT, 5)
    assert wait_for(client, api_key, str(job_id))[-1]["state"] == "succeeded"
    time.sleep(1.0)  # let the duplicates arrive and be turned away
    with db.transaction() as tx:
        row = job_queries.get_job(tx, job_id)
    assert row is not None and row.attempts == 1
    assert worker.log().count(f"job {job_id}: not claimable") == 2
