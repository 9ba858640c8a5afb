"""Workers killed under load, as a machine fails at night: pool processes SIGKILLed every
2 s and the whole worker once while hundreds of jobs run, and a worker killed with jobs
prefetched. No job is lost, stranded, ended twice or charged twice."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from starlette.testclient import TestClient

from spark.broker.app import create_celery
from spark.broker.dispatch import CeleryDispatcher
from spark.config import Settings
from spark.db.executor import Database
from spark.db.models import JobRow
from tests.support.chaos import PoolKiller, pool_children
from tests.support.jobs import TURRET, auth, wait_delivered, wait_state
from tests.support.ledger import assert_each_ended_once, wait_all_terminal
from tests.support.workers import BeatProcess, WorkerProcess

JOBS = 600
MAX_ATTEMPTS = 3


def submit(client: TestClient, key: str, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        resp = client.post("/v1/jobs", json=TURRET, headers=auth(key))
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["id"])
    return ids


def test_pool_processes_killed_every_two_seconds_and_the_worker_once_lose_no_job(
    client: TestClient, api_key: str, db: Database, settings: Settings, tmp_path: Path
) -> None:
    """Every job ends, exactly once; worker_lost only for a job killed on every attempt."""
    worker = WorkerProcess(settings, tmp_path, SPARK_OFFLINE_LATENCY_S="0.05")
    beat = BeatProcess(settings, tmp_path)
    worker.start()
    beat.start()
    killer = first = PoolKiller(2.0)
    replacement = WorkerProcess(settings, tmp_path, SPARK_OFFLINE_LATENCY_S="0.05")
    try:
        ids = submit(client, api_key, JOBS)
        assert worker.proc is not None
        killer.start(worker.proc.pid)
        wait_state(db, ids[JOBS // 2], {"running", "succeeded"}, timeout=120)
        killer.stop()
        worker.kill()  # the whole machine, once, with messages prefetched
        replacement.start()
        killer = PoolKiller(2.0).start(replacement.proc.pid)  # type: ignore[union-attr]
        wait_all_terminal(db, ids, timeout=150)
    finally:
        killer.stop()
        replacement.stop()
        beat.stop()
        worker.kill()
    ends = db.all(select(JobRow.state, JobRow.attempts, JobRow.error))
    lost = [e for e in ends if e.state != "succeeded"]
    assert all(e.error["code"] == "worker_lost" for e in lost), lost
    assert all(e.attempts == MAX_ATTEMPTS for e in lost), lost
    assert len(lost) < JOBS // 20, f"{len(lost)} jobs were killed on each of their attempts"
    assert_each_ended_once(db, ids)
    assert replacement.proc is not None and not pool_children(replacement.proc.pid)
    retried = sum(1 for e in ends if e.attempts > 1)
    kills = first.kills + killer.kills
    assert kills >= 5 and retried >= kills // 2, (kills, retried)
    print(f"{kills} pool kills and one worker kill: {retried} jobs ran again, {len(lost)} lost")


def test_jobs_prefetched_by_a_killed_worker_all_end_within_a_minute(
    client: TestClient,
    api_key: str,
    db: Database,
    default_timing: Settings,
    tmp_path: Path,
) -> None:
    """With the default lease: the jobs it ran come back through the reaper, the jobs it had
    only prefetched through the rescue, the rest from the queue; none waits for the broker's
    visibility timeout."""
    worker = WorkerProcess(default_timing, tmp_path, SPARK_OFFLINE_LATENCY_S="3")
    dispatcher = CeleryDispatcher(create_celery(default_timing))
    worker.start()
    ids = submit(client, api_key, 16)
    wait_delivered(dispatcher, ids, 8)  # two running, six prefetched
    worker.kill()
    replacement = WorkerProcess(default_timing, tmp_path, SPARK_OFFLINE_LATENCY_S="0.05")
    beat = BeatProcess(default_timing, tmp_path)
    try:
        replacement.start()
        beat.start()
        took = wait_all_terminal(db, ids, timeout=60)
    finally:
        beat.stop()
        replacement.stop()
    states = [row.state for row in db.all(select(JobRow.state))]
    assert set(states) == {"succeeded"}, states
    assert_each_ended_once(db, ids)
    print(f"all {len(ids)} jobs ended {took:.1f}s after the replacement started")
