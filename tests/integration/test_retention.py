"""Retention and hourly rollups: old rows go in short batches, recent ones stay, rollups keep
what the raw rows said, and two runs at once never do anything twice."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy import insert, text

from spark.broker.app import create_celery
from spark.config import Settings
from spark.db import events as event_queries
from spark.db import migrate
from spark.db.executor import Database
from spark.db.models import AuditRow, CallRow, DeadLetterRow, EventRow, JobRow, UsageRecordRow
from spark.db.types import utcnow
from spark.jobs.retention import JobFiles, RetentionPolicy, RetentionReport, run_retention
from spark.storage.artifacts import Artifacts
from spark.storage.live_logs import LiveLogStore
from spark.storage.local import LocalBlobs
from tests.support.databases import fresh_database
from tests.support.workers import WorkerProcess

#: the run's clock, pushed 90 days past the real one
NOW = (utcnow() + timedelta(days=90)).replace(minute=30)
OLD = NOW - timedelta(days=100)
RECENT = NOW - timedelta(minutes=10)
#: zero days everywhere; the audit log keeps a day so "recent" means something for it too
POLICY = RetentionPolicy(events_days=0, jobs_days=0, usage_days=0, audit_days=1, batch=7)
TABLES = "jobs, usage_records, audit_log, spark_events, rollup_jobs_hourly, " + (
    "rollup_tokens_hourly, rollup_builds_hourly, rollup_marks, job_outbox, webhook_deliveries, "
    "event_dead_letters, spark_function_calls, rollup_calls_hourly"
)


@pytest.fixture(scope="module")
def fresh_url() -> Iterator[str]:
    """A database of this module's own: retention removes everything old in it."""
    with fresh_database("spark_retention") as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture
def rdb(fresh_url: str) -> Iterator[Database]:
    db = Database(fresh_url)
    with db.transaction() as tx:
        tx.run(text(f"TRUNCATE {TABLES}"))
    yield db
    db.close()


@dataclass(frozen=True)
class Seeded:
    old_jobs: list[uuid.UUID]
    kept_jobs: list[uuid.UUID]
    files: JobFiles


def _job(
    kind: str, state: str, created: datetime, run_s: float | None, **params: Any
) -> dict[str, Any]:
    started = created + timedelta(seconds=3 + run_s % 5) if run_s is not None else None
    finished = (
        started + timedelta(seconds=run_s)
        if started and state not in ("queued", "running")
        else None
    )
    return {
        "id": uuid.uuid4(), "owner": "alice" if run_s and int(run_s) % 2 else "bob",
        "kind": kind, "state": state, "params": params, "created_at": created,
        "started_at": started, "finished_at": finished, "progress_percent": 0,
        "progress_message": "", "attempts": 1, "session_id": "default", "priority": 5,
        "cancel_requested": False,
    }  # fmt: skip


def _seed(db: Database, root: Path, redis_url: str) -> Seeded:
    states = ["succeeded", "failed", "canceled", "timed_out"]
    jobs = [
        _job("generate_script", states[i % 4], OLD + timedelta(minutes=7 * i), 1.5 * i + 1)
        for i in range(30)
    ] + [
        _job("unity_build", states[i % 2], OLD + timedelta(minutes=11 * i), 20.0 * i + 5,
             target=["webgl", "android"][i % 2])
        for i in range(12)
    ]  # fmt: skip
    unfinished = [_job("generate_script", st, OLD, None) for st in ("queued", "running")]
    recent = [_job("generate_script", "succeeded", RECENT - timedelta(minutes=1), 2.0)]
    usage = [
        {"job_id": j["id"], "owner": j["owner"], "kind": j["kind"], "state": j["state"],
         "model": None if n % 3 == 0 else f"model-{n % 2}", "tokens_in": 10 * n,
         "tokens_out": 7 * n + 1, "duration_ms": 100, "created_at": j["finished_at"]}
        for n, j in enumerate(jobs[:30] + recent)
    ]  # fmt: skip
    calls = [
        {"id": uuid.uuid4(), "ts": j["finished_at"], "owner": j["owner"], "session_id": None,
         "job_id": j["id"], "kind": "llm" if n % 4 else "tool", "name": "generate",
         "model": None if n % 4 == 0 else f"model-{n % 2}", "status": "ok", "duration_s": 0.5,
         "tokens_in": 10 * n, "tokens_out": 7 * n + 1, "cost": n / 8}
        for n, j in enumerate(jobs[:30] + recent)
    ]  # fmt: skip
    audit = [
        {"id": uuid.uuid4(), "at": at, "action": "key.created", "actor": "alice"}
        for at in [OLD + timedelta(hours=h) for h in range(5)] + [RECENT]
    ]
    events = [
        {"id": uuid.uuid4(), "ts": ts, "type": "completed", "job_id": uuid.uuid4(),
         "job_kind": "generate_script", "session_id": "default", "subject": "spark.x", "data": {}}
        for ts in (OLD, OLD + timedelta(days=31), RECENT)
    ]  # fmt: skip
    # Zero days of events: every dead letter is due, even the recent one (unlike events,
    # which go a whole month at a time).
    dead = [
        {"subject": "spark.x", "payload": "{", "reason": "not JSON", "created_at": at}
        for at in (OLD, OLD + timedelta(hours=1), OLD + timedelta(days=40), RECENT)
    ]
    blobs = LocalBlobs(root)
    files = JobFiles(Artifacts(blobs), LiveLogStore(redis.Redis.from_url(redis_url), blobs))
    with db.transaction() as tx:
        event_queries.ensure_partitions(tx, {event_queries.month_start(e["ts"]) for e in events})
        tx.run(insert(JobRow).values(jobs + unfinished + recent))
        tx.run(insert(UsageRecordRow).values(usage))
        tx.run(insert(CallRow).values(calls))
        tx.run(insert(AuditRow).values(audit))
        tx.run(insert(EventRow).values(events))
        tx.run(insert(DeadLetterRow).values(dead))
    for job in jobs + recent:
        files.artifacts.put(job["id"], 1, "out.txt", b"artifact")
        files.logs.open_writer(job["id"]).close()
    kept = [j["id"] for j in unfinished + recent]
    return Seeded([j["id"] for j in jobs], kept, files)


# Written apart from spark/db/rollups.py, as an operator would check it by hand.
EXPECTED_JOBS = """
SELECT date_trunc('hour', finished_at, 'UTC') AS hour, kind, state, count(*) AS jobs,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)),
  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)),
  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at))
FROM jobs WHERE finished_at IS NOT NULL AND finished_at < :hour GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
EXPECTED_TOKENS = """
SELECT date_trunc('hour', created_at, 'UTC'), owner, coalesce(model, ''), count(*),
  sum(tokens_in), sum(tokens_out)
FROM usage_records WHERE created_at < :hour GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
EXPECTED_BUILDS = """
SELECT date_trunc('hour', finished_at, 'UTC'), params->>'target', state, count(*),
  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at))
FROM jobs WHERE kind = 'unity_build' AND finished_at IS NOT NULL AND finished_at < :hour
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
EXPECTED_CALLS = """
SELECT date_trunc('hour', ts, 'UTC'), owner, coalesce(model, ''), count(*),
  sum(tokens_in), sum(tokens_out), sum(cost)
FROM spark_function_calls WHERE ts < :hour GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
ROLLUPS = {
    EXPECTED_JOBS: "SELECT hour, kind, state, jobs, duration_p50_s, duration_p95_s, wait_p50_s,"
    " wait_p95_s FROM rollup_jobs_hourly ORDER BY 1, 2, 3",
    EXPECTED_TOKENS: "SELECT hour, owner, model, jobs, tokens_in, tokens_out"
    " FROM rollup_tokens_hourly ORDER BY 1, 2, 3",
    EXPECTED_BUILDS: "SELECT hour, target, result, builds, duration_p95_s"
    " FROM rollup_builds_hourly ORDER BY 1, 2, 3",
    EXPECTED_CALLS: "SELECT hour, owner, model, calls, tokens_in, tokens_out, cost"
    " FROM rollup_calls_hourly ORDER BY 1, 2, 3",
}


def _rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    hour = NOW.replace(minute=0, second=0, microsecond=0)
    with db.transaction() as tx:
        return [
            tuple(round(float(v), 6) if isinstance(v, float) else v for v in row)
            for row in tx.all(text(sql), {"hour": hour})
        ]


def _count(db: Database, sql: str) -> int:
    with db.transaction() as tx:
        return int(tx.scalar(text(sql)) or 0)


def _partitions(db: Database) -> list[str]:
    sql = "SELECT relname FROM pg_class WHERE relname LIKE 'spark\\_events\\_%' AND relkind = 'r'"
    return sorted(str(name) for (name,) in _rows(db, sql))


def _concurrently(db: Database, files: JobFiles) -> list[RetentionReport]:
    start, reports = threading.Barrier(2), []

    def run() -> None:
        start.wait()
        reports.append(run_retention(db, POLICY, files, NOW))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return reports


def test_two_concurrent_runs_prune_old_rows_once_and_keep_rollups_equal_to_group_by(
    rdb: Database, tmp_path: Path, spark_redis: str
) -> None:
    """Old jobs (with files), usage and call records, audit and event partitions go once;
    recent rows, jobs still queued or running and the current month stay; rollups equal a
    GROUP BY."""
    seeded = _seed(rdb, tmp_path, spark_redis)
    expected = {sql: _rows(rdb, sql) for sql in ROLLUPS}
    assert all(expected.values())
    partitions = _partitions(rdb)
    old_months = [p for p in partitions if p < f"spark_events_{NOW:%Y_%m}"]
    assert len(old_months) >= 2
    reports = _concurrently(rdb, seeded.files)
    deleted: dict[str, int] = {}
    for report in reports:
        for dataset, n in report.deleted.items():
            deleted[dataset] = deleted.get(dataset, 0) + n
    assert deleted == {
        "event_partitions": len(old_months), "event_dead_letters": 4, "jobs": 42, "webhook_deliveries": 0, "usage_records": 30,
        "calls": 30, "audit": 5,
    }  # fmt: skip
    for sql, rollup in ROLLUPS.items():
        assert _rows(rdb, rollup) == expected[sql]
    assert {str(i) for i in seeded.kept_jobs} == {
        str(i) for (i,) in _rows(rdb, "SELECT id FROM jobs")
    }
    assert _count(rdb, "SELECT count(*) FROM usage_records") == 1
    assert _count(rdb, "SELECT count(*) FROM spark_function_calls") == 1
    assert _count(rdb, "SELECT count(*) FROM audit_log") == 1
    assert _count(rdb, "SELECT count(*) FROM spark_events") == 1
    assert _count(rdb, "SELECT count(*) FROM event_dead_letters") == 0
    assert _partitions(rdb) == sorted(set(partitions) - set(old_months))
    assert not any((tmp_path / "jobs" / str(j)).exists() for j in seeded.old_jobs)
    assert all(seeded.files.logs.read(j) is None for j in seeded.old_jobs)
    recent = seeded.kept_jobs[-1]
    assert seeded.files.logs.read(recent) is not None
    assert (tmp_path / "jobs" / str(recent) / "1" / "out.txt").exists()
    again = run_retention(rdb, POLICY, seeded.files, NOW)
    assert not again.skipped and sum(again.deleted.values()) == 0
    for sql, rollup in ROLLUPS.items():
        assert _rows(rdb, rollup) == expected[sql]


def test_a_run_while_another_holds_the_lock_does_nothing(
    rdb: Database, tmp_path: Path, spark_redis: str
) -> None:
    """The second of two overlapping runs reports skipped and removes nothing."""
    seeded = _seed(rdb, tmp_path, spark_redis)
    from spark.db import retention as queries

    with queries.exclusive(rdb, "retention") as held:
        assert held
        report = run_retention(rdb, POLICY, seeded.files, NOW)
    assert report == RetentionReport(skipped=True)
    assert _count(rdb, "SELECT count(*) FROM jobs") == 45


def test_the_beat_task_runs_retention_in_a_real_worker(
    fresh_url: str, rdb: Database, settings: Settings, tmp_path: Path, spark_redis: str
) -> None:
    """spark.maintenance.retention, sent as beat sends it, rolls up and prunes."""
    seeded = _seed(rdb, Path(settings.storage_url), spark_redis)
    with rdb.transaction() as tx:
        tx.run(text("UPDATE audit_log SET at = at - interval '200 days'"))
    mine = settings.model_copy(update={"database_url": fresh_url})
    worker = WorkerProcess(mine, tmp_path, queues="maintenance", SPARK_RETENTION_AUDIT_DAYS="0")
    worker.start()
    try:
        app: Celery = create_celery(mine)
        app.send_task("spark.maintenance.retention", queue="maintenance")
        deadline = time.monotonic() + 60
        while _count(rdb, "SELECT count(*) FROM audit_log") and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        worker.stop()
    assert _count(rdb, "SELECT count(*) FROM audit_log") == 0
    assert _count(rdb, "SELECT count(*) FROM rollup_marks") == 1
    assert _count(rdb, "SELECT count(*) FROM jobs") == len(seeded.kept_jobs) + len(seeded.old_jobs)
