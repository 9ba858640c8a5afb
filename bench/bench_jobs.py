"""SPARK's hot paths against the thin job API a user would write instead, under wrk.

    .venv/bin/python -m bench.bench_jobs [--seconds S] [--connections C] [--json]

Three phases, each run on every side with the same load (wrk, one thread, C connections,
S seconds after a short warm-up), one API process each, on servers of the run's own
(PostgreSQL, Valkey, NATS: bench._resources): (submit) POST a job with no worker running;
(poll) GET a job by id; (e2e) POST jobs with a worker of 2 prefork processes until every
accepted one is done. The thin job API (bench/_thin_front.py) inserts its job row and calls
`send_task`; its bare Celery task (bench/_bare.py) marks the row succeeded; its GET reads the
row by primary key. The same API keeping no row is the floor ("no row"). SPARK runs as
deployed: all four servers, `spark consumer`, the security layer with an API key and its
rate limits in Redis, tier ceilings lifted out of the way.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import redis

from bench import _bare
from bench._cli import terminate
from bench._jobs_report import Phase, Report, Side, render
from bench._load import JOB_BODY
from bench._procs import Proc, child_env, cpu_seconds_since, free_port, server_ticks, stop_all
from bench._resources import (
    BenchServers,
    bench_servers,
    count_succeeded,
    purge_queues,
    spark_env,
    truncate_jobs,
)
from bench._wrk import ensure_wrk, run_wrk, script
from spark.db.executor import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.security.apikeys import create_key

DEFAULT_SECONDS = 10.0
DEFAULT_CONNECTIONS = 32
WARMUP_S = 2.0
#: jobs each side's poll phase reads, cycled through by wrk
POLLED_JOBS = 200
#: the thin API's two processes: with its job row, and the floor without
THIN_FRONTS = (("thin-front", True), ("thin-no-row", False))


@dataclass
class Target:
    """One API under test: its process, URL, paths, headers, and the Postgres it writes to."""

    proc: Proc
    url: str
    submit_path: str
    poll_prefix: str
    headers: dict[str, str]
    #: the Postgres server's process id (its CPU is counted with its backends')
    postgres: int

    def lua(self, method: str, paths: list[str]) -> str:
        """The wrk script sending method to paths in turn, with a job's body on a POST."""
        body = json.dumps(JOB_BODY) if method == "POST" else None
        headers = self.headers | ({"Content-Type": "application/json"} if body else {})
        return script(method, paths, headers, body)

    def load(self, method: str, paths: list[str], seconds: float, connections: int) -> Side:
        """Warm up, then wrk for seconds: what it saw and the CPU spent per response."""
        lua = self.lua(method, paths)
        run_wrk(self.url, lua, seconds=WARMUP_S, connections=connections)
        cpu0, pg0 = self.proc.cpu_seconds(), server_ticks(self.postgres)
        result = run_wrk(self.url, lua, seconds=seconds, connections=connections)
        per = 1000 / max(result.requests, 1)
        api_ms = (self.proc.cpu_seconds() - cpu0) * per
        pg_ms = cpu_seconds_since(pg0, server_ticks(self.postgres)) * per
        return Side(result, api_ms, pg_ms)


@dataclass(frozen=True)
class Fronts:
    """The three APIs: the thin one with its row, the same without (the floor), SPARK."""

    thin: Target
    floor: Target
    spark: Target


def _start(
    name: str, args: list[str], env: dict[str, str], workdir: Path, procs: list[Proc]
) -> Proc:
    proc = Proc(name, args, child_env(env), workdir)
    procs.append(proc)
    proc.start()
    return proc


def _thin_front(
    name: str, rows: bool, db: BenchServers, workdir: Path, procs: list[Proc]
) -> tuple[Proc, str]:
    port = free_port()
    env = {_bare.DATABASE_ENV: db.psycopg_url, _bare.BROKER_ENV: db.broker_url}
    env["THIN_ROWS"] = "1" if rows else "0"
    uvicorn = ["-m", "uvicorn", "bench._thin_front:app", "--port", str(port), "--no-access-log"]
    return _start(name, uvicorn, env, workdir, procs), f"http://127.0.0.1:{port}"


def _start_apis(db: BenchServers, workdir: Path, procs: list[Proc]) -> Fronts:
    """The thin API (with and without its row) and SPARK's API with its event consumer."""
    env = spark_env(db, workdir / "var")
    consumer = _start("spark-consumer", ["-m", "spark.cli", "consumer"], env, workdir, procs)
    thin, floor = (_thin_front(n, r, db, workdir, procs) for n, r in THIN_FRONTS)
    port = free_port()
    args = ["-m", "spark.cli", "api", "--port", str(port), "--workers", "1", "--no-access-log"]
    api = _start("spark-api", args, env, workdir, procs)
    spark_url = f"http://127.0.0.1:{port}"
    consumer.wait_for_log("event consumer")
    api.wait_http_ok(f"{spark_url}/v1/health")
    for proc, url in (thin, floor):
        proc.wait_http_ok(f"{url}/jobs/{uuid.uuid4()}", expect=404)
    token = _api_key(db)
    pg = db.postgres_pid
    return Fronts(
        Target(*thin, "/jobs", "/jobs/", {}, pg),
        Target(*floor, "/jobs", "/jobs/", {}, pg),
        Target(api, spark_url, "/v1/jobs", "/v1/jobs/", {"Authorization": f"Bearer {token}"}, pg),
    )


def _api_key(db: BenchServers) -> str:
    database = Database(db.spark_url)
    try:
        return create_key(database, "bench", Tier.PRO, DEFAULT_PERMISSIONS).token
    finally:
        database.close()


def _seed_jobs(target: Target, count: int) -> list[str]:
    """count queued jobs submitted through target: the rows its poll phase reads."""
    with httpx.Client(base_url=target.url, headers=target.headers, timeout=30) as client:
        ids = []
        for _ in range(count):
            response = client.post(target.submit_path, json=JOB_BODY)
            response.raise_for_status()
            ids.append(response.json()["id"])
    return ids


def _reset(db: BenchServers) -> None:
    """No job rows (SPARK's or the thin API's), no queued messages; the API keys stay."""
    truncate_jobs(db)
    with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {_bare.TABLE}")
    purge_queues(db.broker_url)


def _phase_poll(db: BenchServers, fronts: Fronts, s: float, c: int) -> Phase:
    """Each API polls rows it wrote itself (queued: no worker runs)."""
    sides = []
    for target in (fronts.thin, fronts.spark):
        paths = [target.poll_prefix + i for i in _seed_jobs(target, POLLED_JOBS)]
        sides.append(target.load("GET", paths, s, c))
    _reset(db)
    return Phase("poll", sides[0], sides[1])


def _phase_submit(db: BenchServers, fronts: Fronts, s: float, c: int) -> Phase:
    sides = []
    for target in (fronts.floor, fronts.thin, fronts.spark):
        sides.append(target.load("POST", [target.submit_path], s, c))
        _reset(db)
    return Phase("submit", sides[1], sides[2], floor=sides[0])


def _end_to_end(
    target: Target, worker: Proc, done_count: Callable[[], int], s: float, c: int
) -> Side:
    """Load target while worker runs; wait until done_count() has grown by every 2xx answer."""
    lua = target.lua("POST", [target.submit_path])
    _wait_for(done_count, run_wrk(target.url, lua, seconds=WARMUP_S, connections=c).ok, worker)
    before = done_count()
    api0, worker0 = target.proc.cpu_seconds(), worker.cpu_seconds()
    pg0 = server_ticks(target.postgres)
    start = time.perf_counter()
    result = run_wrk(target.url, lua, seconds=s, connections=c)
    finished = _wait_for(done_count, before + result.ok, worker)
    per = 1000 / max(result.ok, 1)
    return Side(
        result,
        api_cpu_ms=(target.proc.cpu_seconds() - api0) * per,
        pg_cpu_ms=cpu_seconds_since(pg0, server_ticks(target.postgres)) * per,
        done_per_s=result.ok / (finished - start),
        worker_cpu_ms=(worker.cpu_seconds() - worker0) * per,
    )


def _wait_for(done_count: Callable[[], int], expected: int, worker: Proc) -> float:
    deadline = time.monotonic() + 300
    while done_count() < expected:
        worker.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{worker.name}: {done_count()} of {expected} done in 300 s")
        time.sleep(0.01)
    return time.perf_counter()


def _bare_sides(
    db: BenchServers, workdir: Path, fronts: Fronts, s: float, c: int, procs: list[Proc]
) -> tuple[Side, Side]:
    """e2e of the floor (the no-op's counter) and of the thin API (its succeeded rows)."""
    env = {_bare.BROKER_ENV: db.broker_url, _bare.DATABASE_ENV: db.psycopg_url}
    name = f"bench{os.getpid()}@%h"
    args = ["-m", "celery", "-A", "bench._bare:app", *_bare.worker_args(_bare.QUEUE, name)]
    bare = _start("bare-worker", args, env, workdir, procs)
    bare.wait_for_log("ready.")
    counter = redis.Redis.from_url(db.broker_url)
    try:
        floor = _end_to_end(fronts.floor, bare, lambda: int(counter.get(_bare.COUNTER) or 0), s, c)
        with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
            rows = _end_to_end(fronts.thin, bare, lambda: count_succeeded(conn, _bare.TABLE), s, c)
    finally:
        counter.close()
        bare.stop()
    return floor, rows


def _phase_e2e(
    db: BenchServers, workdir: Path, fronts: Fronts, s: float, c: int, procs: list[Proc]
) -> Phase:
    floor, thin = _bare_sides(db, workdir, fronts, s, c, procs)
    _reset(db)
    env = spark_env(db, workdir / "var") | {"SPARK_WORKER_METRICS_PORT": str(free_port())}
    args = ["-m", "spark.cli", "worker", "--queues", "generation", "--concurrency", "2"]
    worker = _start("spark-worker", args, env, workdir, procs)
    worker.wait_for_log("ready.")
    with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
        spark_side = _end_to_end(fronts.spark, worker, lambda: count_succeeded(conn), s, c)
    return Phase("e2e", thin, spark_side, floor=floor)


def run(seconds: float = DEFAULT_SECONDS, connections: int = DEFAULT_CONNECTIONS) -> Report:
    """Every phase on servers of the run's own; every child and server is stopped."""
    ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="spark-bench-") as tmp, bench_servers() as db:
        workdir = Path(tmp)
        (workdir / "var").mkdir()
        with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
            conn.execute(_bare.SCHEMA)
        procs: list[Proc] = []
        try:
            fronts = _start_apis(db, workdir, procs)
            poll = _phase_poll(db, fronts, seconds, connections)
            submit = _phase_submit(db, fronts, seconds, connections)
            e2e = _phase_e2e(db, workdir, fronts, seconds, connections, procs)
        finally:
            stop_all(procs)
    return Report(db.name, seconds, connections, (submit, poll, e2e))


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table or JSON."""
    parser = argparse.ArgumentParser(prog="bench.bench_jobs", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="load per side")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS, help="wrk -c")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    opts = parser.parse_args(argv)
    if opts.seconds < 1 or opts.connections < 1:
        parser.error("--seconds and --connections must be at least 1")
    signal.signal(signal.SIGTERM, terminate)
    report = run(opts.seconds, opts.connections)
    print(json.dumps(report.as_dict(), indent=2) if opts.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
