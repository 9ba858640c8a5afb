"""A broker away at submit, and a cancel before the job ran: nothing is lost or run twice."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from spark.broker.app import create_celery
from spark.broker.dispatch import CeleryDispatcher
from spark.config import Settings
from spark.db.executor import Database
from spark.domain.jobs import JobKind
from spark.jobs import maintenance
from spark.web.app import create_app
from tests.support.jobs import TERMINAL, auth, stored, wait_state
from tests.support.jobs import TURRET as BODY
from tests.support.workers import BeatProcess, WorkerProcess


@pytest.fixture
def offline_broker_client(settings: Settings) -> Iterator[TestClient]:
    """The API while its broker is unreachable: jobs are accepted into the outbox only."""
    down = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(down), raise_server_exceptions=False) as c:
        yield c


def test_a_canceled_queued_job_never_runs(
    offline_broker_client: TestClient,
    api_key: str,
    db: Database,
    settings: Settings,
    worker: WorkerProcess,
) -> None:
    """Cancel while queued → canceled at once; a late message for it changes nothing."""
    job = offline_broker_client.post("/v1/jobs", json=BODY, headers=auth(api_key)).json()
    resp = offline_broker_client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth(api_key))
    assert resp.status_code == 200 and resp.json()["state"] == "canceled"
    dispatcher = CeleryDispatcher(create_celery(settings))
    assert maintenance.relay(db, dispatcher, min_age_s=0) == 0
    dispatcher.send(uuid.UUID(job["id"]), JobKind.GENERATE_SCRIPT, 5)  # a stray late message
    time.sleep(1.5)
    final = stored(db, job["id"])
    assert final.state.value == "canceled" and final.attempts == 0 and final.started_at is None
    again = offline_broker_client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth(api_key))
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_not_cancelable"


def test_the_relay_dispatches_a_job_whose_send_failed(
    offline_broker_client: TestClient,
    api_key: str,
    db: Database,
    settings: Settings,
    tmp_path: Path,
    worker: WorkerProcess,
) -> None:
    """Broker away at submit: 202 anyway, and the scheduled relay gets it done within 10 s."""
    resp = offline_broker_client.post("/v1/jobs", json=BODY, headers=auth(api_key))
    assert resp.status_code == 202
    submitted = time.monotonic()
    beat = BeatProcess(settings, tmp_path)
    beat.start()
    try:
        final = wait_state(db, resp.json()["id"], TERMINAL, timeout=15)
    finally:
        beat.stop()
    assert final.state.value == "succeeded"
    assert time.monotonic() - submitted < 10
