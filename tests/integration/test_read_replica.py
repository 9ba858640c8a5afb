"""Polls and lists read a real streaming replica; the primary answers when the replica lags
a fresh write or is gone; health and /metrics report the replica's state and lag."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.security.apikeys import create_key
from spark.web.app import create_app
from tests.support.jobs import TURRET, auth
from tests.support.replica import StreamingReplica

LAG = re.compile(r"^spark_db_replica_lag_seconds ([0-9.e+-]+)$", re.MULTILINE)


@pytest.fixture
def client(settings: Settings, replica: StreamingReplica) -> Iterator[TestClient]:
    """The API on the throwaway primary, reading from its standby."""
    configured = settings.model_copy(
        update={"database_url": replica.primary_url, "database_replica_url": replica.replica_url}
    )
    with TestClient(create_app(configured), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def key(replica: StreamingReplica) -> str:
    """A key for a user of this test alone, on the primary and replayed on the standby."""
    db = Database(replica.primary_url)
    try:
        token = create_key(db, f"user-{uuid.uuid4().hex[:8]}", Tier.PRO, DEFAULT_PERMISSIONS).token
    finally:
        db.close()
    replica.wait_caught_up()
    return token


def submit(client: TestClient, key: str) -> str:
    resp = client.post("/v1/jobs", json=TURRET, headers=auth(key))
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def listed(client: TestClient, key: str) -> dict[str, str]:
    """Each listed job's state, by id."""
    resp = client.get("/v1/jobs", headers=auth(key))
    assert resp.status_code == 200, resp.text
    return {job["id"]: job["state"] for job in resp.json()["items"]}


def polled(client: TestClient, key: str, job_id: str) -> str:
    resp = client.get(f"/v1/jobs/{job_id}", headers=auth(key))
    assert resp.status_code == 200, resp.text
    return str(resp.json()["state"])


def cancel(client: TestClient, key: str, job_id: str) -> None:
    resp = client.post(f"/v1/jobs/{job_id}/cancel", headers=auth(key))
    assert resp.status_code == 200 and resp.json()["state"] == "canceled", resp.text


def scraped_lag(client: TestClient) -> float:
    found = LAG.search(client.get("/metrics").text)
    assert found is not None, "spark_db_replica_lag_seconds is not exported"
    return float(found.group(1))


def settled_lag(client: TestClient, timeout: float = 5.0) -> float:
    """The scraped lag once it reads 0, or the last reading (the API's own background writes,
    such as marking a message sent, may be in flight for a moment)."""
    deadline = time.monotonic() + timeout
    lag = scraped_lag(client)
    while lag != 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        lag = scraped_lag(client)
    return lag


def test_polls_and_lists_read_the_replica(
    client: TestClient, key: str, replica: StreamingReplica
) -> None:
    """With replay paused, a job canceled on the primary still polls and lists as queued: the
    answer can only have come from the standby. Once replay resumes, both say canceled."""
    job_id = submit(client, key)
    replica.wait_caught_up()
    replica.pause_replay()
    cancel(client, key, job_id)
    assert polled(client, key, job_id) == "queued"
    assert listed(client, key) == {job_id: "queued"}
    replica.resume_replay()
    replica.wait_caught_up()
    assert polled(client, key, job_id) == "canceled"
    assert listed(client, key) == {job_id: "canceled"}


def test_a_job_polled_right_after_its_submission_is_found_while_the_replica_lags(
    client: TestClient, key: str, replica: StreamingReplica
) -> None:
    """Read-your-writes: the standby has not replayed the submission (the list, read there,
    lacks it), yet the poll finds the job on the primary."""
    replica.pause_replay()
    job_id = submit(client, key)
    assert polled(client, key, job_id) == "queued"
    assert job_id not in listed(client, key)


def test_with_the_replica_down_reads_answer_from_the_primary_and_health_is_degraded(
    client: TestClient, key: str, replica: StreamingReplica
) -> None:
    """The standby crashes: polls and lists still answer, current (from the primary), without
    stalling on the dead replica; health says degraded (200) with the replica down."""
    assert client.get("/v1/health").json()["checks"]["replica"] == "ok"
    job_id = submit(client, key)
    replica.stop_standby()
    cancel(client, key, job_id)
    started = time.monotonic()
    for _ in range(10):
        assert polled(client, key, job_id) == "canceled"
        assert listed(client, key) == {job_id: "canceled"}
    # the dead replica is tried once, then left alone for a while: no wait per request
    assert time.monotonic() - started < 3.0
    health = client.get("/v1/health")
    body = health.json()
    assert health.status_code == 200 and body["status"] == "degraded", body
    assert body["checks"]["replica"] == "down" and body["checks"]["database"] == "ok"


def test_replica_lag_is_exported_and_rises_while_replay_is_paused(
    client: TestClient, key: str, replica: StreamingReplica
) -> None:
    """Caught up (the primary idle) the lag is 0; with replay paused and the primary writing,
    the scraped spark_db_replica_lag_seconds is above 0, and back to 0 after replay resumes."""
    assert settled_lag(client) == 0
    replica.pause_replay()
    submit(client, key)
    deadline = time.monotonic() + 5
    # the standby receives the submission's WAL within moments, and does not replay it
    while (lag := scraped_lag(client)) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert lag > 0
    replica.resume_replay()
    assert settled_lag(client) == 0
