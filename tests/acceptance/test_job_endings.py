"""Every way a job ends goes through one place: each ending publishes exactly one terminal
event (seen by an independent NATS subscriber), stores it once, charges the job once and adds
exactly one to spark_jobs_finished_total, whichever process ended it."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fakes.unity import make_unity_project
from spark.config import Settings
from spark.db.engine import Database
from spark.web.app import create_app
from tests.acceptance.test_builds import create_project
from tests.support.endings import assert_ended_once, finished_total, scrape, wait_for
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.nats import NatsServer, Subscriber
from tests.support.services import free_port
from tests.support.workers import BeatProcess, ConsumerProcess, WorkerProcess

SCRIPT = {"prompt": "a door that opens when the player comes near", "class_name": "Door"}


@dataclass
class Stack:
    """Private JetStream with a consumer, a maintenance worker, and metrics to sum."""

    nats: NatsServer
    settings: Settings
    workdir: Path
    metric_urls: list[str]

    def worker(self, queues: str, **env: str) -> WorkerProcess:
        """Start a job worker on NATS whose metrics join the sum."""
        port = free_port()
        proc = WorkerProcess(
            self.settings,
            self.workdir,
            queues=queues,
            SPARK_WORKER_METRICS_PORT=str(port),
            SPARK_NATS_URL=self.nats.url,
            **env,
        )
        proc.start()
        self.metric_urls.append(f"http://127.0.0.1:{port}/metrics")
        return proc


@pytest.fixture(scope="module")
def stack(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = Path(tmp_path_factory.mktemp("endings"))
    server = NatsServer(workdir)
    server.start()
    on_nats = settings.model_copy(update={"nats_url": server.url})
    consumer = ConsumerProcess(settings, workdir, server.url)
    consumer.start()
    built = Stack(server, on_nats, workdir, [])
    maintenance = built.worker("maintenance")
    yield built
    maintenance.stop()
    consumer.stop()
    server.stop()


@pytest.fixture(scope="module")
def job_worker(stack: Stack) -> Iterator[WorkerProcess]:
    """Runs generation and builds (no Unity configured); nothing consumes `patches`."""
    proc = stack.worker("generation,builds", SPARK_OFFLINE_LATENCY_S="1.5")
    yield proc
    proc.stop()


@pytest.fixture
def api(stack: Stack) -> Iterator[TestClient]:
    """The API on NATS, in this process (its cancel ends jobs and publishes their events)."""
    with TestClient(create_app(stack.settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def session() -> str:
    return f"end-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def sub(stack: Stack, session: str) -> Iterator[Subscriber]:
    subscriber = Subscriber(stack.nats.url, f"spark.*.unity.*.{session}")
    subscriber.start()
    yield subscriber
    subscriber.stop()


def total(stack: Stack, api: TestClient) -> float:
    texts = [api.get("/metrics").text]
    for url in stack.metric_urls:
        try:
            texts.append(scrape(url))
        except Exception:
            continue  # a worker the test killed: it ended nothing after its last scrape
    return finished_total(texts)


def submit(api: TestClient, key: str, session: str, kind: str, **extra: Any) -> str:
    body = {"kind": kind, "session_id": session, **extra}
    resp = api.post("/v1/jobs", json=body, headers=auth(key))
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def assert_counted_once(stack: Stack, api: TestClient, before: float) -> None:
    wait_for(lambda: total(stack, api) >= before + 1, "spark_jobs_finished_total to move")
    assert total(stack, api) == before + 1


def test_a_job_the_runner_completes_ends_once(
    stack: Stack,
    job_worker: WorkerProcess,
    api: TestClient,
    api_key: str,
    db: Database,
    session: str,
    sub: Subscriber,
) -> None:
    """succeeded, from the runner."""
    before = total(stack, api)
    job_id = submit(api, api_key, session, "generate_script", params=SCRIPT)
    assert wait_state(db, job_id, TERMINAL).state.value == "succeeded"
    assert_ended_once(db, sub, job_id, "completed")
    assert_counted_once(stack, api, before)


def test_a_job_the_runner_fails_ends_once(
    stack: Stack,
    job_worker: WorkerProcess,
    api: TestClient,
    api_key: str,
    db: Database,
    session: str,
    sub: Subscriber,
    tmp_path: Path,
) -> None:
    """failed, from the runner (a build with no Unity configured)."""
    project = create_project(api, api_key, make_unity_project(tmp_path / "Ends"))
    before = total(stack, api)
    params = {"target": "WebGL"}
    job_id = submit(api, api_key, session, "unity_build", project_id=project["id"], params=params)
    assert wait_state(db, job_id, TERMINAL).state.value == "failed"
    assert_ended_once(db, sub, job_id, "failed")
    assert_counted_once(stack, api, before)


def test_a_running_job_canceled_by_its_owner_ends_once(
    stack: Stack,
    job_worker: WorkerProcess,
    api: TestClient,
    api_key: str,
    db: Database,
    session: str,
    sub: Subscriber,
) -> None:
    """canceled, from the runner at its next checkpoint."""
    before = total(stack, api)
    job_id = submit(api, api_key, session, "generate_script", params=SCRIPT)
    wait_state(db, job_id, {"running"})
    assert api.post(f"/v1/jobs/{job_id}/cancel", headers=auth(api_key)).status_code == 202
    assert wait_state(db, job_id, TERMINAL).state.value == "canceled"
    assert_ended_once(db, sub, job_id, "canceled")
    assert_counted_once(stack, api, before)


def test_a_queued_job_canceled_through_the_api_ends_once(
    stack: Stack,
    job_worker: WorkerProcess,
    api: TestClient,
    api_key: str,
    db: Database,
    session: str,
    sub: Subscriber,
) -> None:
    """canceled, from the API, before any worker took it (nothing consumes `patches`)."""
    before = total(stack, api)
    params = {"asset_type": "material", "name": "Rust", "path": "Assets/Materials/Rust.mat"}
    job_id = submit(api, api_key, session, "generate_asset", params=params)
    resp = api.post(f"/v1/jobs/{job_id}/cancel", headers=auth(api_key))
    assert resp.status_code == 200 and resp.json()["state"] == "canceled"
    assert_ended_once(db, sub, job_id, "canceled")
    assert_counted_once(stack, api, before)


def test_a_job_whose_worker_died_is_reaped_once(
    stack: Stack, api: TestClient, api_key: str, db: Database, session: str, sub: Subscriber
) -> None:
    """failed worker_lost, from the reaper, after the whole worker was killed."""
    doomed = stack.worker("generation", SPARK_OFFLINE_LATENCY_S="6")
    before = total(stack, api)
    job_id = submit(api, api_key, session, "generate_script", params=SCRIPT)
    wait_state(db, job_id, {"running"})
    doomed.kill()
    beat = BeatProcess(stack.settings, stack.workdir)
    beat.start()
    try:
        job = wait_state(db, job_id, TERMINAL, timeout=30)
    finally:
        beat.stop()
    assert job.state.value == "failed" and job.error is not None
    assert job.error.code == "worker_lost"
    assert_ended_once(db, sub, job_id, "failed")
    assert_counted_once(stack, api, before)


def test_a_job_out_of_attempts_ends_once_at_its_takeover(
    stack: Stack, api: TestClient, api_key: str, db: Database, session: str, sub: Subscriber
) -> None:
    """failed worker_lost, from the claim that finds its last attempt's process dead."""
    worker = stack.worker("generation", SPARK_OFFLINE_LATENCY_S="6", SPARK_MAX_ATTEMPTS="1")
    try:
        before = total(stack, api)
        job_id = submit(api, api_key, session, "generate_script", params=SCRIPT)
        running = wait_state(db, job_id, {"running"})
        assert running.worker is not None
        os.kill(int(running.worker.rpartition(":")[2]), signal.SIGKILL)
        job = wait_state(db, job_id, TERMINAL, timeout=30)
        assert job.state.value == "failed" and job.error is not None
        assert job.error.code == "worker_lost" and job.attempts == 1
        assert_ended_once(db, sub, job_id, "failed")
        assert_counted_once(stack, api, before)
    finally:
        worker.stop()
