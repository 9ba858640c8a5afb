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
from spark.db.executor import Database
from spark.web.app import create_app
from tests.acceptance.test_builds import create_project
from tests.support.endings import assert_ended_once, finished_total, scrape, wait_for
from tests.support.jobs import TERMINAL, auth, stored, wait_state
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
    # One attempt only: the reaper's test shows an ending, not a job sent again.
    maintenance = built.worker("maintenance", SPARK_MAX_ATTEMPTS="1")
    yield built
    maintenance.stop()
    consumer.stop()
    server.stop()


@pytest.fixture
def job_worker(stack: Stack) -> Iterator[WorkerProcess]:
    """Runs generation and builds (no Unity configured); nothing consumes `patches`. Only its
    tests run it, so a worker a later test kills is the only one holding that test's job."""
    proc = stack.worker("generation,builds", SPARK_OFFLINE_LATENCY_S="1.5")
    yield proc
    proc.stop()


@pytest.fixture
def api(stack: Stack) -> Iterator[TestClient]:
    """The API on NATS, in this process (its cancel ends jobs and publishes their events)."""
    with TestClient(create_app(stack.settings), raise_server_exceptions=False) as c:
        yield c


@dataclass
class Watch:
    """One test's view of a job's end: the API, a NATS subscriber on a session of its own,
    and spark_jobs_finished_total as it stood before the job was submitted."""

    stack: Stack
    api: TestClient
    key: str
    db: Database
    session: str
    sub: Subscriber
    before: float = 0.0

    def total(self) -> float:
        texts = [self.api.get("/metrics").text]
        for url in self.stack.metric_urls:
            try:
                texts.append(scrape(url))
            except Exception:
                continue  # a worker the test killed: it ended nothing after its last scrape
        return finished_total(texts)

    def submit(self, kind: str, **extra: Any) -> str:
        self.before = self.total()
        body = {"kind": kind, "session_id": self.session, **extra}
        resp = self.api.post("/v1/jobs", json=body, headers=auth(self.key))
        assert resp.status_code == 202, resp.text
        return str(resp.json()["id"])

    def cancel(self, job_id: str) -> Any:
        return self.api.post(f"/v1/jobs/{job_id}/cancel", headers=auth(self.key))

    def assert_ended_once(self, job_id: str, state: str, event: str) -> None:
        """The job ended in state, with one event, one charge and one count."""
        assert wait_state(self.db, job_id, TERMINAL, timeout=30).state.value == state
        assert_ended_once(self.db, self.sub, job_id, event)
        wait_for(lambda: self.total() >= self.before + 1, "spark_jobs_finished_total to move")
        assert self.total() == self.before + 1


@pytest.fixture
def watch(stack: Stack, api: TestClient, api_key: str, db: Database) -> Iterator[Watch]:
    session = f"end-{uuid.uuid4().hex[:8]}"
    sub = Subscriber(stack.nats.url, f"spark.*.unity.*.{session}")
    sub.start()
    yield Watch(stack, api, api_key, db, session, sub)
    sub.stop()


def test_a_job_the_runner_completes_ends_once(job_worker: WorkerProcess, watch: Watch) -> None:
    """succeeded, from the runner."""
    job_id = watch.submit("generate_script", params=SCRIPT)
    watch.assert_ended_once(job_id, "succeeded", "completed")


def test_a_job_the_runner_fails_ends_once(
    job_worker: WorkerProcess, watch: Watch, tmp_path: Path
) -> None:
    """failed, from the runner (a build with no Unity configured)."""
    project = create_project(watch.api, watch.key, make_unity_project(tmp_path / "Ends"))
    job_id = watch.submit("unity_build", project_id=project["id"], params={"target": "WebGL"})
    watch.assert_ended_once(job_id, "failed", "failed")


def test_a_running_job_canceled_by_its_owner_ends_once(
    job_worker: WorkerProcess, watch: Watch
) -> None:
    """canceled, from the runner at its next checkpoint."""
    job_id = watch.submit("generate_script", params=SCRIPT)
    wait_state(watch.db, job_id, {"running"})
    assert watch.cancel(job_id).status_code == 202
    watch.assert_ended_once(job_id, "canceled", "canceled")


def test_a_queued_job_canceled_through_the_api_ends_once(
    job_worker: WorkerProcess, watch: Watch
) -> None:
    """canceled, from the API, before any worker took it (nothing consumes `patches`)."""
    params = {"asset_type": "material", "name": "Rust", "path": "Assets/Materials/Rust.mat"}
    job_id = watch.submit("generate_asset", params=params)
    resp = watch.cancel(job_id)
    assert resp.status_code == 200 and resp.json()["state"] == "canceled"
    watch.assert_ended_once(job_id, "canceled", "canceled")


def test_a_job_whose_worker_died_is_reaped_once(stack: Stack, watch: Watch) -> None:
    """failed worker_lost, from the reaper, after the whole worker was killed."""
    doomed = stack.worker("generation", SPARK_OFFLINE_LATENCY_S="6")
    job_id = watch.submit("generate_script", params=SCRIPT)
    wait_state(watch.db, job_id, {"running"})
    doomed.kill()
    beat = BeatProcess(stack.settings, stack.workdir)
    beat.start()
    try:
        watch.assert_ended_once(job_id, "failed", "failed")
    finally:
        beat.stop()
    job = stored(watch.db, job_id)
    assert job.error is not None and job.error.code == "worker_lost"


def test_a_job_out_of_attempts_ends_once_at_its_takeover(stack: Stack, watch: Watch) -> None:
    """failed worker_lost, from the claim that finds its last attempt's process dead."""
    worker = stack.worker("generation", SPARK_OFFLINE_LATENCY_S="6", SPARK_MAX_ATTEMPTS="1")
    try:
        job_id = watch.submit("generate_script", params=SCRIPT)
        running = wait_state(watch.db, job_id, {"running"})
        assert running.worker is not None
        os.kill(int(running.worker.rpartition(":")[2]), signal.SIGKILL)
        watch.assert_ended_once(job_id, "failed", "failed")
    finally:
        worker.stop()
    job = stored(watch.db, job_id)
    assert job.error is not None and job.error.code == "worker_lost" and job.attempts == 1
