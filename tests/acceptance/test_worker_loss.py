"""Jobs hit mid-run: canceled, or their worker killed, end in a terminal state, never stuck."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from starlette.testclient import TestClient

from spark.broker.app import create_celery
from spark.broker.dispatch import CeleryDispatcher
from spark.config import Settings
from spark.db.executor import Database
from spark.domain.jobs import Job
from spark.jobs import maintenance
from tests.support.jobs import TERMINAL, auth, delivered, stored, wait_state
from tests.support.jobs import TURRET as BODY
from tests.support.workers import BeatProcess, WorkerProcess


@pytest.fixture
def slow_worker(settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A worker whose offline generator takes about 4 s per script, so jobs can be hit mid-run."""
    proc = WorkerProcess(settings, tmp_path, SPARK_OFFLINE_LATENCY_S="4")
    proc.start()
    yield proc
    proc.kill()


def test_a_running_job_stops_at_its_next_checkpoint_when_canceled(
    client: TestClient, api_key: str, db: Database, slow_worker: WorkerProcess
) -> None:
    """Cancel while running → 202, then the worker ends it canceled before it completes."""
    job = client.post("/v1/jobs", json=BODY, headers=auth(api_key)).json()
    wait_state(db, job["id"], {"running"})
    time.sleep(0.5)
    resp = client.post(f"/v1/jobs/{job['id']}/cancel", headers=auth(api_key))
    assert resp.status_code == 202 and resp.json()["state"] == "running"
    final = wait_state(db, job["id"], TERMINAL, timeout=5)
    assert final.state.value == "canceled" and final.result is None
    assert final.progress.percent < 100


def test_a_killed_pool_process_means_redelivery_and_success(
    client: TestClient, api_key: str, db: Database, slow_worker: WorkerProcess
) -> None:
    """SIGKILL the process running a job: the message comes back and another attempt finishes it."""
    job = client.post("/v1/jobs", json=BODY, headers=auth(api_key)).json()
    running = wait_state(db, job["id"], {"running"})
    time.sleep(0.5)
    assert running.worker is not None
    os.kill(int(running.worker.rpartition(":")[2]), signal.SIGKILL)
    final = wait_state(db, job["id"], TERMINAL, timeout=30)
    assert final.state.value == "succeeded", final
    assert final.attempts == 2 and final.worker != running.worker


def end_after_killing_the_machine(
    client: TestClient,
    key: str,
    db: Database,
    settings: Settings,
    tmp_path: Path,
    slow_worker: WorkerProcess,
    helper: WorkerProcess,
) -> Job:
    """Kill the whole worker running a fresh job, start helper and beat, and wait for its end."""
    job = client.post("/v1/jobs", json=BODY, headers=auth(key)).json()
    wait_state(db, job["id"], {"running"})
    slow_worker.kill()
    beat = BeatProcess(settings, tmp_path)
    helper.start()
    beat.start()
    try:
        return wait_state(db, job["id"], TERMINAL, timeout=30)
    finally:
        beat.stop()
        helper.stop()


def test_a_job_of_a_killed_worker_machine_runs_again_on_another_worker(
    client: TestClient,
    api_key: str,
    db: Database,
    settings: Settings,
    tmp_path: Path,
    slow_worker: WorkerProcess,
) -> None:
    """SIGKILL the whole worker: its message cannot come back soon, so once the heartbeat is
    silent for a lease the reaper sends the job again and another worker finishes it."""
    helper = WorkerProcess(settings, tmp_path, SPARK_OFFLINE_LATENCY_S="0")
    final = end_after_killing_the_machine(
        client, api_key, db, settings, tmp_path, slow_worker, helper
    )
    assert final.state.value == "succeeded", final
    assert final.attempts == 2


def test_a_killed_worker_machine_on_the_last_attempt_is_reaped_as_worker_lost(
    client: TestClient,
    api_key: str,
    db: Database,
    settings: Settings,
    tmp_path: Path,
    slow_worker: WorkerProcess,
) -> None:
    """With no attempts left, the reaper fails the job worker_lost instead."""
    helper = WorkerProcess(settings, tmp_path, queues="maintenance", SPARK_MAX_ATTEMPTS="1")
    final = end_after_killing_the_machine(
        client, api_key, db, settings, tmp_path, slow_worker, helper
    )
    assert final.state.value == "failed" and final.error is not None
    assert final.error.code == "worker_lost"


def resent_stranded() -> float:
    """spark_job_messages_resent_total{reason="stranded"} in this process."""
    sample = REGISTRY.get_sample_value("spark_job_messages_resent_total", {"reason": "stranded"})
    return sample or 0.0


def test_jobs_a_killed_worker_had_prefetched_are_sent_again_and_a_live_ones_are_not(
    client: TestClient,
    api_key: str,
    db: Database,
    settings: Settings,
    slow_worker: WorkerProcess,
) -> None:
    """A busy worker holds prefetched jobs and the rescue leaves them be; once the whole worker
    is SIGKILLed, every queued job it took is marked for the relay and its stale delivery
    dropped, while the jobs it was running are left to the reaper's lease."""
    prefetched_jobs_of_a_killed_worker_go_again(client, api_key, db, settings, slow_worker)


def prefetched_jobs_of_a_killed_worker_go_again(
    client: TestClient,
    key: str,
    db: Database,
    settings: Settings,
    worker: WorkerProcess,
    taken: int = 6,
) -> None:
    """Six jobs on a worker of two processes that takes `taken` of them (two run, the rest
    wait prefetched): left alone while it lives; once it is SIGKILLed, the prefetched ones are
    marked for the relay and sent once, the running ones left to the reaper's lease."""
    dispatcher = CeleryDispatcher(create_celery(settings))
    ids = [client.post("/v1/jobs", json=BODY, headers=auth(key)).json()["id"] for _ in range(6)]
    wait_received(worker, ids, taken)
    wait_running(db, ids, 2)
    assert maintenance.rescue(db, dispatcher, older_than_s=0.0) == 0

    worker.kill()
    held = delivered(dispatcher, ids)
    assert len(held) == taken
    states = {i: stored(db, i).state.value for i in held}
    stranded = {i for i, state in states.items() if state == "queued"}
    assert len(stranded) == taken - 2, states
    before = resent_stranded()
    assert maintenance.rescue(db, dispatcher, older_than_s=0.0) == len(stranded)
    assert resent_stranded() == before + len(stranded)
    assert delivered(dispatcher, ids) == held - stranded
    assert maintenance.relay(db, dispatcher, min_age_s=0) == len(stranded)
    assert maintenance.rescue(db, dispatcher, older_than_s=0.0) == 0


def wait_received(worker: WorkerProcess, ids: list[str], count: int) -> None:
    """Wait until the worker has logged taking count of ids."""
    deadline = time.monotonic() + 20
    while sum(f"[{i}] received" in worker.log() for i in ids) < count:
        assert time.monotonic() < deadline, worker.log()[-2000:]
        time.sleep(0.1)


def wait_running(db: Database, ids: list[str], count: int) -> None:
    """Wait until count of ids have been claimed by the worker's processes."""
    deadline = time.monotonic() + 20
    while sum(stored(db, i).state.value == "running" for i in ids) < count:
        assert time.monotonic() < deadline
        time.sleep(0.05)
