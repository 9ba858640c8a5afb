"""Phase (e) of the event benchmark: jobs end to end, their events via NATS to the consumer."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench._load import post_jobs, wait_succeeded
from bench._procs import Proc, start_api_and_worker, stop_all
from bench._resources import BenchServers, spark_env

WARMUP_JOBS = 20
COUNT_EVENTS = "SELECT count(*) FROM spark_events"


def sql_value(db: BenchServers, query: str) -> int:
    """Run query on a connection of its own: the first value it returns, or 0."""
    with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
        cur = conn.execute(query)
        row = cur.fetchone() if cur.description else None
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class EndToEndResult:
    """POST /v1/jobs with a worker, until every job has succeeded."""

    jobs: int
    clients: int
    post_s: float
    end_to_end_s: float
    per_s: float
    api_cpu_ms_per_job: float
    worker_cpu_ms_per_job: float


def _phase_e2e(
    db: BenchServers, api: Proc, worker: Proc, url: str, token: str, jobs: int, clients: int
) -> EndToEndResult:
    api0, worker0 = api.cpu_seconds(), worker.cpu_seconds()
    load = post_jobs(url, token, jobs, clients)
    done = wait_succeeded(db, jobs, worker, timeout=120 + jobs / 5)
    elapsed = done - load.started_at
    return EndToEndResult(
        jobs=jobs,
        clients=clients,
        post_s=load.elapsed_s,
        end_to_end_s=elapsed,
        per_s=jobs / elapsed,
        api_cpu_ms_per_job=(api.cpu_seconds() - api0) * 1000 / jobs,
        worker_cpu_ms_per_job=(worker.cpu_seconds() - worker0) * 1000 / jobs,
    )


@dataclass(frozen=True)
class JobsRun:
    """(e) one end-to-end run, and how many events each job left in spark_events."""

    e2e: EndToEndResult
    events_per_job: float


def _settled_events(db: BenchServers) -> int:
    """spark_events' count once it has not changed for 0.5s (the consumer caught up), max 15s."""
    last, deadline = -1, time.monotonic() + 15
    while (now := sql_value(db, COUNT_EVENTS)) != last and time.monotonic() < deadline:
        last = now
        time.sleep(0.5)
    return now


def jobs_run(db: BenchServers, workdir: Path, token: str, jobs: int, clients: int) -> JobsRun:
    """(e) POST jobs with a worker until all have succeeded, `spark consumer` storing events."""
    procs: list[Proc] = []
    try:
        env = spark_env(db, workdir / "var")
        url = start_api_and_worker(env, workdir, procs, "generation", 2)
        api, worker = procs[-2], procs[-1]
        post_jobs(url, token, WARMUP_JOBS, clients)
        wait_succeeded(db, WARMUP_JOBS, worker, timeout=60)
        _settled_events(db)
        sql_value(db, "TRUNCATE jobs, spark_events CASCADE")
        e2e = _phase_e2e(db, api, worker, url, token, jobs, clients)
        return JobsRun(e2e, _settled_events(db) / jobs)
    finally:
        stop_all(procs)
