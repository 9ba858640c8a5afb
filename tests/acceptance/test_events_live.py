"""A job's events, live: on NATS in order, stored once by the consumer, streamed over SSE."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from spark.events.envelope import decode_event
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.nats import Subscriber
from tests.support.workers import WorkerProcess

PARAMS = {"prompt": "a camera that follows the player smoothly", "class_name": "FollowCamera"}


@pytest.fixture(scope="module")
def slow_worker(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A worker whose generator takes ~1.5 s, on the suite's NATS (the suite's consumer
    stores what it publishes)."""
    worker = WorkerProcess(
        settings, Path(tmp_path_factory.mktemp("events")), SPARK_OFFLINE_LATENCY_S="1.5"
    )
    worker.start()
    yield worker
    worker.stop()


def submit(client: TestClient, key: str, session: str) -> str:
    body = {"kind": "generate_script", "params": PARAMS, "session_id": session}
    resp = client.post("/v1/jobs", json=body, headers=auth(key))
    assert resp.status_code == 202
    return str(resp.json()["id"])


def test_a_subscriber_sees_started_progress_then_completed_in_order(
    slow_worker: WorkerProcess, settings: Settings, client: TestClient, api_key: str, db: Database
) -> None:
    """An independent nats-py subscriber gets the job's events, in order, with valid envelopes."""
    session = f"level-{uuid.uuid4().hex[:6]}"
    sub = Subscriber(settings.require("nats_url"), f"spark.runtime.unity.*.{session}")
    sub.start()
    job_id = submit(client, api_key, session)
    wait_state(db, job_id, TERMINAL)
    deadline = time.monotonic() + 10
    while not any(b'"completed"' in d for _, d in sub.messages) and time.monotonic() < deadline:
        time.sleep(0.05)
    sub.stop()
    events = [decode_event(data, subject) for subject, data in sub.messages]
    types = [e.type.value for e in events]
    assert types[0] == "started" and types[-1] == "completed", types
    assert set(types[1:-1]) == {"progress"} and len(types) >= 4, types
    percents = [e.data["percent"] for e in events if e.type.value == "progress"]
    assert percents == sorted(percents)
    assert all(str(e.job_id) == job_id and e.session_id == session for e in events)
    assert sub.messages[0][0] == f"spark.runtime.unity.started.{session}"
    stored = client.get(f"/v1/jobs/{job_id}/events", headers=auth(api_key))
    deadline = time.monotonic() + 10
    while len(stored.json()["items"]) < len(events) and time.monotonic() < deadline:
        time.sleep(0.1)
        stored = client.get(f"/v1/jobs/{job_id}/events", headers=auth(api_key))
    assert [e["id"] for e in stored.json()["items"]] == [str(e.id) for e in events]


def test_sse_streams_events_live_and_closes_at_the_terminal_state(
    slow_worker: WorkerProcess, client: TestClient, api_key: str, db: Database
) -> None:
    """text/event-stream delivers events while the job runs and ends with its last event."""
    job_id = submit(client, api_key, "sse")
    received: list[tuple[str, float]] = []
    headers = {**auth(api_key), "Accept": "text/event-stream"}
    with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("data:"):
                received.append((json.loads(line[5:])["type"], time.monotonic()))
    done = time.monotonic()
    types = [t for t, _ in received]
    assert types[0] == "started" and types[-1] == "completed", types
    assert "progress" in types
    # live: the first event arrived well before the job finished, not all at the end
    assert done - received[0][1] > 0.5


def sse_ids(client: TestClient, url: str, headers: dict[str, str]) -> list[str]:
    with client.stream("GET", url, headers=headers) as resp:
        return [
            json.loads(line[5:])["id"] for line in resp.iter_lines() if line.startswith("data:")
        ]


def test_sse_resumes_after_last_event_id(
    slow_worker: WorkerProcess, client: TestClient, api_key: str, db: Database
) -> None:
    """A reconnecting client with Last-Event-ID gets only the events after it."""
    job_id = submit(client, api_key, "resume")
    wait_state(db, job_id, TERMINAL)
    url = f"/v1/jobs/{job_id}/events"
    headers = {**auth(api_key), "Accept": "text/event-stream"}
    every = sse_ids(client, url, headers)
    assert len(every) >= 3
    assert sse_ids(client, url, {**headers, "Last-Event-ID": every[0]}) == every[1:]


def test_a_canceled_job_ends_its_events_with_canceled(
    slow_worker: WorkerProcess, client: TestClient, api_key: str, db: Database
) -> None:
    """Cancel mid-run: the stored events end with `canceled`."""
    job_id = submit(client, api_key, "cancel")
    wait_state(db, job_id, {"running"})
    time.sleep(0.4)
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=auth(api_key)).status_code == 202
    wait_state(db, job_id, TERMINAL)
    deadline = time.monotonic() + 10
    types: list[str] = []
    while time.monotonic() < deadline:
        items = client.get(f"/v1/jobs/{job_id}/events", headers=auth(api_key)).json()["items"]
        types = [e["type"] for e in items]
        if types and types[-1] == "canceled":
            break
        time.sleep(0.1)
    assert types[0] == "started" and types[-1] == "canceled", types


def test_events_of_another_users_job_are_404(
    slow_worker: WorkerProcess, client: TestClient, api_key: str, other_key: str
) -> None:
    """Events are as private as the job."""
    job_id = submit(client, api_key, "private")
    resp = client.get(f"/v1/jobs/{job_id}/events", headers=auth(other_key))
    assert resp.status_code == 404
