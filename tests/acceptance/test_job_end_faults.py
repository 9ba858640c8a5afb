"""A job's end survives the worst moments: a worker killed right before or right after its
end commits, and the database gone for a few seconds around it. Each time the job ends once,
its terminal event is stored once (and reaches NATS), and its usage is charged once."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from spark.db.models import DeadLetterRow
from spark.faults import RELEASE, marker
from tests.support.endings import assert_ended_once, terminal_stored, usage_records, wait_for
from tests.support.jobs import TERMINAL, TURRET, auth, stored, wait_state
from tests.support.nats import NatsServer, Subscriber
from tests.support.proxy import TcpProxy
from tests.support.workers import BeatProcess, ConsumerProcess, WorkerProcess


@pytest.fixture(scope="module")
def nats_stack(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[NatsServer, Settings]]:
    """Private JetStream, a consumer storing events, and the scheduler's event relay."""
    workdir = Path(tmp_path_factory.mktemp("end-faults"))
    server = NatsServer(workdir)
    server.start()
    on_nats = settings.model_copy(update={"nats_url": server.url})
    consumer = ConsumerProcess(settings, workdir, server.url)
    # A long lease keeps the reaper out of these tests: a killed attempt is taken over by the
    # message that comes back, which is what they show.
    maintenance = WorkerProcess(
        on_nats, workdir, queues="maintenance", SPARK_NATS_URL=server.url, SPARK_LEASE_S="120"
    )
    beat = BeatProcess(on_nats, workdir)
    for proc in (consumer, maintenance, beat):
        proc.start()
    yield server, on_nats
    for proc in (beat, maintenance, consumer):
        proc.stop()
    server.stop()


def paused_pid(var_dir: Path, point: str, timeout: float = 30.0) -> int:
    """The pid of the process that stopped at point, once it has."""
    path = marker(point, var_dir)
    wait_for(lambda: path.exists() and path.read_text().isdigit(), f"a process paused at {point}")
    return int(path.read_text())


def paused_worker(
    settings: Settings, tmp_path: Path, point: str, **env: str
) -> tuple[WorkerProcess, Path]:
    """A started generation worker whose first process to reach point stops there."""
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    worker = WorkerProcess(
        settings,
        tmp_path,
        queues="generation",
        SPARK_VAR_DIR=str(var_dir),
        SPARK_FAULT_PAUSE_AT=point,
        SPARK_OFFLINE_LATENCY_S="0.3",
        **env,
    )
    worker.start()
    return worker, var_dir


def run_and_kill_at(
    point: str,
    nats_stack: tuple[NatsServer, Settings],
    client: TestClient,
    key: str,
    db: Database,
    tmp_path: Path,
) -> str:
    """Submit a job to a worker that pauses at point; SIGKILL the pool process there."""
    server, on_nats = nats_stack
    worker, var_dir = paused_worker(on_nats, tmp_path, point, SPARK_NATS_URL=server.url)
    session = f"fault-{uuid.uuid4().hex[:8]}"
    sub = Subscriber(server.url, f"spark.*.unity.*.{session}")
    sub.start()
    try:
        resp = client.post("/v1/jobs", json={**TURRET, "session_id": session}, headers=auth(key))
        job_id = str(resp.json()["id"])
        os.kill(paused_pid(var_dir, point), signal.SIGKILL)
        wait_state(db, job_id, TERMINAL, timeout=30)
        assert_ended_once(db, sub, job_id, "completed")
    finally:
        sub.stop()
        worker.stop()
    return job_id


def test_a_worker_killed_right_after_the_end_commits_still_announces_it_once(
    nats_stack: tuple[NatsServer, Settings],
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
) -> None:
    """Killed before it could publish: the relay sends the committed event; the redelivered
    message finds the job ended and runs nothing again."""
    job_id = run_and_kill_at("end_committed", nats_stack, client, api_key, db, tmp_path)
    job = stored(db, job_id)
    assert job.state.value == "succeeded" and job.attempts == 1


def test_a_worker_killed_right_before_the_end_commits_leaves_the_job_to_its_next_attempt(
    nats_stack: tuple[NatsServer, Settings],
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
) -> None:
    """Killed with the end decided but nothing written: another attempt runs it and ends it."""
    job_id = run_and_kill_at("end_decided", nats_stack, client, api_key, db, tmp_path)
    job = stored(db, job_id)
    assert job.state.value == "succeeded" and job.attempts == 2


def through(proxy: TcpProxy, url: str) -> str:
    """The database URL with its host and port replaced by the proxy's."""
    return (
        make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


def test_the_database_gone_around_a_jobs_end_loses_no_event_and_charges_once(
    settings: Settings, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """Embedded events (no NATS): the end waits for the database and then commits whole."""
    parsed = make_url(settings.require("database_url"))
    assert parsed.port is not None
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port)
    database_url = through(proxy, settings.database_url)
    worker, var_dir = paused_worker(
        settings, tmp_path, "end_decided", SPARK_DATABASE_URL=database_url
    )
    try:
        resp = client.post("/v1/jobs", json=TURRET, headers=auth(api_key))
        job_id = str(resp.json()["id"])
        paused_pid(var_dir, "end_decided")
        proxy.cut()
        marker("end_decided", var_dir).write_text(RELEASE)
        time.sleep(3)
        assert stored(db, job_id).state.value == "running"
        proxy.restore()
        job = wait_state(db, job_id, TERMINAL, timeout=40)
    finally:
        worker.stop()
        proxy.close()
    assert job.state.value == "succeeded" and job.attempts == 1
    wait_for(lambda: terminal_stored(db, job_id) != [], "the terminal event stored")
    assert terminal_stored(db, job_id) == ["completed"]
    assert usage_records(db, job_id) == 1
    with db.transaction() as tx:
        assert tx.scalar(select(func.count()).select_from(DeadLetterRow)) == 0
    assert "gave up" not in worker.log()
