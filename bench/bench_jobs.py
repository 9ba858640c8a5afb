"""SPARK's hot paths against the thin front a user would write instead, under wrk.

    .venv/bin/python -m bench.bench_jobs [--seconds S] [--connections C] [--json]

Three phases, each run on both sides with the same load (wrk, one thread, C connections,
S seconds after a short warm-up), one API process each, on a throwaway database and Redis db 12:
(poll) GET a job by id; (submit) POST a job with no worker running; (e2e) POST jobs with a
worker of 2 prefork processes until every accepted one is done. The thin front
(bench/_thin_front.py) is Starlette + `send_task` of a no-op + a psycopg pool SELECT; SPARK runs
with its security layer on (an API key, the rate-limit decision in Redis) and its tier ceilings
lifted out of the way.
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from bench import _bare
from bench._cli import terminate
from bench._load import JOB_BODY
from bench._procs import Proc, child_env, free_port, stop_all
from bench._resources import (
    REDIS_URL,
    BenchDatabase,
    count_succeeded,
    flush_redis,
    spark_env,
    throwaway_database,
    truncate_jobs,
)
from bench._wrk import WrkResult, ensure_wrk, run_wrk, script
from spark.db.engine import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.security.apikeys import create_key

DEFAULT_SECONDS = 10.0
DEFAULT_CONNECTIONS = 32
WARMUP_S = 2.0
#: jobs the poll phase reads, cycled through by wrk
POLLED_JOBS = 200
#: the issue's goals: SPARK's rate over the thin front's
GOALS = {"poll": 0.6, "submit": 0.6, "e2e": 0.5}
POLL_P99_GOAL_MS = 50.0


@dataclass(frozen=True)
class Side:
    """One side of one phase: what wrk saw, and the CPU its processes spent."""

    wrk: WrkResult
    api_cpu_ms: float
    #: e2e only: accepted jobs done per second, first request to last job done
    done_per_s: float | None = None
    worker_cpu_ms: float | None = None

    @property
    def rate(self) -> float:
        """The phase's figure: responses per second, or jobs done per second end to end."""
        return self.wrk.per_s if self.done_per_s is None else self.done_per_s


@dataclass(frozen=True)
class Phase:
    """Both sides of one phase."""

    name: str
    thin: Side
    spark: Side

    @property
    def ratio(self) -> float:
        """SPARK's rate over the thin front's."""
        return self.spark.rate / self.thin.rate


@dataclass(frozen=True)
class Report:
    """Every phase of one run."""

    database: str
    seconds: float
    connections: int
    phases: tuple[Phase, ...]

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for --json."""
        return {
            "database": self.database,
            "cpus": os.cpu_count(),
            "seconds": self.seconds,
            "connections": self.connections,
            "phases": {
                p.name: {
                    "thin": asdict(p.thin) | {"rate": p.thin.rate},
                    "spark": asdict(p.spark) | {"rate": p.spark.rate},
                    "ratio": p.ratio,
                    "goal": GOALS[p.name],
                }
                for p in self.phases
            },
        }


@dataclass
class Target:
    """One API under test: its process, URL, paths and headers."""

    proc: Proc
    url: str
    submit_path: str
    poll_prefix: str
    headers: dict[str, str]

    def load(self, method: str, paths: list[str], seconds: float, connections: int) -> Side:
        body = json.dumps(JOB_BODY) if method == "POST" else None
        headers = self.headers | ({"Content-Type": "application/json"} if body else {})
        lua = script(method, paths, headers, body)
        run_wrk(self.url, lua, seconds=WARMUP_S, connections=connections)
        cpu0 = self.proc.cpu_seconds()
        result = run_wrk(self.url, lua, seconds=seconds, connections=connections)
        return Side(result, (self.proc.cpu_seconds() - cpu0) * 1000 / max(result.requests, 1))


def _start(
    name: str, args: list[str], env: dict[str, str], workdir: Path, procs: list[Proc]
) -> Proc:
    proc = Proc(name, args, child_env(env), workdir)
    procs.append(proc)
    proc.start()
    return proc


def _start_apis(db: BenchDatabase, workdir: Path, procs: list[Proc]) -> tuple[Target, Target]:
    thin_port, spark_port = free_port(), free_port()
    thin_env = {"THIN_DATABASE_URL": db.psycopg_url, _bare.BROKER_ENV: REDIS_URL}
    uvicorn = ["-m", "uvicorn", "bench._thin_front:app", "--port", str(thin_port)]
    thin = _start("thin-front", [*uvicorn, "--no-access-log"], thin_env, workdir, procs)
    args = ["-m", "spark.cli", "api", "--port", str(spark_port), "--workers", "1"]
    api = _start(
        "spark-api", [*args, "--no-access-log"], spark_env(db, workdir / "var"), workdir, procs
    )
    thin_url, spark_url = f"http://127.0.0.1:{thin_port}", f"http://127.0.0.1:{spark_port}"
    api.wait_http_ok(f"{spark_url}/v1/health")
    thin.wait_http_ok(f"{thin_url}/jobs/{uuid.uuid4()}", expect=404)
    token = _api_key(db)
    return (
        Target(thin, thin_url, "/jobs", "/jobs/", {}),
        Target(api, spark_url, "/v1/jobs", "/v1/jobs/", {"Authorization": f"Bearer {token}"}),
    )


def _production_env(db: BenchDatabase, workdir: Path) -> dict[str, str]:
    # as deployed: rate limits, quotas and breakers shared through Redis
    return spark_env(db, workdir / "var") | {"SPARK_REDIS_URL": REDIS_URL}


def _api_key(db: BenchDatabase) -> str:
    database = Database(db.spark_url)
    try:
        return create_key(database, "bench", Tier.PRO, DEFAULT_PERMISSIONS).token
    finally:
        database.dispose()


def _seed_jobs(spark: Target, count: int) -> list[str]:
    """count queued jobs submitted through SPARK: the rows both sides poll."""
    with httpx.Client(base_url=spark.url, headers=spark.headers, timeout=30) as client:
        ids = []
        for _ in range(count):
            response = client.post(spark.submit_path, json=JOB_BODY)
            response.raise_for_status()
            ids.append(response.json()["id"])
    return ids


def _phase_poll(thin: Target, spark: Target, ids: list[str], s: float, c: int) -> Phase:
    return Phase(
        "poll",
        thin.load("GET", [thin.poll_prefix + i for i in ids], s, c),
        spark.load("GET", [spark.poll_prefix + i for i in ids], s, c),
    )


def _reset(db: BenchDatabase) -> None:
    """No job rows, no queued messages (the API keys stay)."""
    truncate_jobs(db)
    flush_redis()


def _phase_submit(db: BenchDatabase, thin: Target, spark: Target, s: float, c: int) -> Phase:
    thin_side = thin.load("POST", [thin.submit_path], s, c)
    _reset(db)
    spark_side = spark.load("POST", [spark.submit_path], s, c)
    _reset(db)
    return Phase("submit", thin_side, spark_side)


def _end_to_end(
    target: Target, worker: Proc, done_count: Callable[[], int], s: float, c: int
) -> Side:
    """Load target while worker runs; wait until done_count() has grown by every 2xx answer."""
    body = json.dumps(JOB_BODY)
    headers = target.headers | {"Content-Type": "application/json"}
    lua = script("POST", [target.submit_path], headers, body)
    _wait_for(done_count, run_wrk(target.url, lua, seconds=WARMUP_S, connections=c).ok, worker)
    before = done_count()
    api0, worker0 = target.proc.cpu_seconds(), worker.cpu_seconds()
    start = time.perf_counter()
    result = run_wrk(target.url, lua, seconds=s, connections=c)
    finished = _wait_for(done_count, before + result.ok, worker)
    jobs = max(result.ok, 1)
    return Side(
        result,
        api_cpu_ms=(target.proc.cpu_seconds() - api0) * 1000 / jobs,
        done_per_s=result.ok / (finished - start),
        worker_cpu_ms=(worker.cpu_seconds() - worker0) * 1000 / jobs,
    )


def _wait_for(done_count: Callable[[], int], expected: int, worker: Proc) -> float:
    deadline = time.monotonic() + 300
    while done_count() < expected:
        worker.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{worker.name}: {done_count()} of {expected} done in 300 s")
        time.sleep(0.01)
    return time.perf_counter()


def _phase_e2e(
    db: BenchDatabase,
    workdir: Path,
    thin: Target,
    spark: Target,
    s: float,
    c: int,
    procs: list[Proc],
) -> Phase:
    bare_env = {_bare.BROKER_ENV: REDIS_URL}
    name = f"bench{os.getpid()}@%h"
    args = ["-m", "celery", "-A", "bench._bare:app", *_bare.worker_args(_bare.QUEUE, name)]
    bare = _start("bare-worker", args, bare_env, workdir, procs)
    bare.wait_for_log("ready.")
    counter = redis.Redis.from_url(REDIS_URL)
    try:
        thin_side = _end_to_end(thin, bare, lambda: int(counter.get(_bare.COUNTER) or 0), s, c)
    finally:
        counter.close()
        bare.stop()
    _reset(db)
    args = ["-m", "spark.cli", "worker", "--queues", "generation", "--concurrency", "2"]
    worker = _start("spark-worker", args, _production_env(db, workdir), workdir, procs)
    worker.wait_for_log("ready.")
    with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
        spark_side = _end_to_end(spark, worker, lambda: count_succeeded(conn), s, c)
    return Phase("e2e", thin_side, spark_side)


def run(seconds: float = DEFAULT_SECONDS, connections: int = DEFAULT_CONNECTIONS) -> Report:
    """Every phase on fresh resources; every child is stopped, the database dropped."""
    ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="spark-bench-") as tmp, throwaway_database() as db:
        workdir = Path(tmp)
        (workdir / "var").mkdir()
        flush_redis()
        procs: list[Proc] = []
        try:
            thin, spark = _start_apis(db, workdir, procs)
            ids = _seed_jobs(spark, POLLED_JOBS)
            poll = _phase_poll(thin, spark, ids, seconds, connections)
            _reset(db)
            submit = _phase_submit(db, thin, spark, seconds, connections)
            e2e = _phase_e2e(db, workdir, thin, spark, seconds, connections, procs)
        finally:
            stop_all(procs)
            flush_redis()
    return Report(db.name, seconds, connections, (poll, submit, e2e))


def _side_row(label: str, side: Side) -> str:
    w = side.wrk
    rate = f"{side.rate:,.0f}/s"
    cpu = f"{side.api_cpu_ms:.2f}"
    if side.worker_cpu_ms is not None:
        cpu += f" + {side.worker_cpu_ms:.2f}"
    return (
        f"  {label:<7}{w.requests:>8}{w.per_s:>10,.0f}{w.p50_ms:>9.1f}{w.p99_ms:>9.1f}"
        f"{w.bad_status:>6}{w.socket_errors:>6}{rate:>11}  {cpu}"
    )


def render(report: Report) -> str:
    """The human-readable table."""
    lines = [
        f"SPARK hot paths vs a thin Starlette + send_task front: wrk -t1 -c{report.connections} "
        f"-d{report.seconds:g}s per side, Postgres ({report.database}), Redis db 12, "
        f"{os.cpu_count()} CPUs",
        "",
        f"  {'':<7}{'reqs':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'!2xx':>6}{'sock':>6}"
        f"{'rate':>11}  CPU ms/req (API + worker)",
    ]
    for phase in report.phases:
        mark = "ok" if phase.ratio >= GOALS[phase.name] else "BELOW GOAL"
        lines += [
            f"{phase.name}",
            _side_row("thin", phase.thin),
            _side_row("SPARK", phase.spark),
            f"  ratio {phase.ratio:.2f} (goal {GOALS[phase.name]}: {mark})",
        ]
    poll = report.phases[0].spark.wrk
    lines.append(f"SPARK poll p99 {poll.p99_ms:.1f} ms (goal <= {POLL_P99_GOAL_MS:g} ms)")
    return "\n".join(lines)


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
