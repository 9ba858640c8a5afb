"""SPARK vs bare Celery on Postgres + Redis: submission and end-to-end throughput.

    .venv/bin/python -m bench.bench_jobs [--jobs N] [--clients C] [--json]

(a) bare Celery (SPARK's Celery config, a no-op task, a real prefork worker): publish rate from
one producer and end-to-end rate; (b) POST /v1/jobs against the real API with no worker running;
(c) POST /v1/jobs with a real `spark worker` until every job has succeeded. (a) and (b) run 2*N
tasks/requests, (c) N jobs. Everything runs on a throwaway database and Redis db 12.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench._bare import BareResult, make_app, run_bare
from bench._cli import terminate
from bench._load import LoadResult, post_jobs, wait_succeeded
from bench._procs import Proc, child_env, free_port, stop_all
from bench._resources import (
    REDIS_DB,
    REDIS_URL,
    BenchDatabase,
    flush_redis,
    spark_env,
    throwaway_database,
    truncate_jobs,
)
from spark.db.engine import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.security.apikeys import create_key

DEFAULT_JOBS = 1000
DEFAULT_CLIENTS = 16
SUBMIT_WARMUP = 50


@dataclass(frozen=True)
class SubmitResult:
    """Phase (b): POST /v1/jobs with no worker running."""

    requests: int
    clients: int
    elapsed_s: float
    per_s: float
    p50_ms: float
    p99_ms: float
    api_cpu_ms_per_request: float


@dataclass(frozen=True)
class EndToEndResult:
    """Phase (c): POST /v1/jobs with a worker, until every job has succeeded."""

    jobs: int
    clients: int
    post_s: float
    end_to_end_s: float
    per_s: float
    api_cpu_ms_per_job: float
    worker_cpu_ms_per_job: float


@dataclass(frozen=True)
class Report:
    """All figures of one run."""

    database: str
    bare: BareResult
    submit: SubmitResult
    e2e: EndToEndResult

    @property
    def submission_ratio(self) -> float:
        """(b) req/s ÷ (a) publish tasks/s."""
        return self.submit.per_s / self.bare.publish_per_s

    @property
    def end_to_end_ratio(self) -> float:
        """(c) jobs/s ÷ (a) end-to-end tasks/s."""
        return self.e2e.per_s / self.bare.end_to_end_per_s

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for --json."""
        bare = asdict(self.bare) | {
            "publish_per_s": self.bare.publish_per_s,
            "end_to_end_per_s": self.bare.end_to_end_per_s,
        }
        return {
            "database": self.database,
            "redis_db": REDIS_DB,
            "cpus": os.cpu_count(),
            "bare_celery": bare,
            "submission": asdict(self.submit),
            "end_to_end": asdict(self.e2e),
            "ratios": {"submission": self.submission_ratio, "end_to_end": self.end_to_end_ratio},
        }


def _start_api(db: BenchDatabase, workdir: Path, procs: list[Proc]) -> tuple[Proc, str]:
    port = free_port()
    args = ["-m", "spark.cli", "api", "--port", str(port), "--no-access-log"]
    api = Proc("api", args, child_env(spark_env(db, workdir / "var")), workdir)
    procs.append(api)
    api.start()
    url = f"http://127.0.0.1:{port}"
    api.wait_http_ok(f"{url}/v1/health")
    return api, url


def _api_key(db: BenchDatabase) -> str:
    database = Database(db.spark_url)
    try:
        return create_key(database, "bench", Tier.PRO, DEFAULT_PERMISSIONS).token
    finally:
        database.dispose()


def _phase_submit(api: Proc, url: str, token: str, count: int, clients: int) -> SubmitResult:
    post_jobs(url, token, SUBMIT_WARMUP, clients)
    cpu0 = api.cpu_seconds()
    load: LoadResult = post_jobs(url, token, count, clients)
    api_cpu = api.cpu_seconds() - cpu0
    return SubmitResult(
        requests=count,
        clients=clients,
        elapsed_s=load.elapsed_s,
        per_s=load.per_s,
        p50_ms=load.percentile(50),
        p99_ms=load.percentile(99),
        api_cpu_ms_per_request=api_cpu * 1000 / count,
    )


def _forget_submitted(db: BenchDatabase, expected: int) -> None:
    """Drop (b)'s messages from the broker and its jobs from the database."""
    producer = make_app(REDIS_URL)
    try:
        purged = int(producer.control.purge() or 0)
    finally:
        producer.close()
    if purged != expected:
        print(f"warning: purged {purged} messages, expected {expected}", file=sys.stderr)
    truncate_jobs(db)


def _start_worker(db: BenchDatabase, workdir: Path, procs: list[Proc]) -> Proc:
    args = ["-m", "spark.cli", "worker", "--queues", "generation", "--concurrency", "2"]
    worker = Proc("spark-worker", args, child_env(spark_env(db, workdir / "var")), workdir)
    procs.append(worker)
    worker.start()
    worker.wait_for_log("ready.")
    return worker


def _phase_e2e(
    db: BenchDatabase, api: Proc, worker: Proc, url: str, token: str, jobs: int, clients: int
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


def run(jobs: int = DEFAULT_JOBS, clients: int = DEFAULT_CLIENTS) -> Report:
    """Run phases (a), (b), (c) on fresh resources; every child is stopped, the database dropped."""
    with tempfile.TemporaryDirectory(prefix="spark-bench-") as tmp, throwaway_database() as db:
        workdir = Path(tmp)
        (workdir / "var").mkdir()
        flush_redis()
        procs: list[Proc] = []
        try:
            bare = run_bare(2 * jobs, workdir)
            api, url = _start_api(db, workdir, procs)
            token = _api_key(db)
            submit = _phase_submit(api, url, token, 2 * jobs, clients)
            _forget_submitted(db, 2 * jobs + SUBMIT_WARMUP)
            worker = _start_worker(db, workdir, procs)
            e2e = _phase_e2e(db, api, worker, url, token, jobs, clients)
        finally:
            stop_all(procs)
            flush_redis()
    return Report(db.name, bare, submit, e2e)


def _row(label: str, count: int, secs: float, rate: str, p50: str = "", p99: str = "") -> str:
    return f"{label:<42}{count:>7}{secs:>9.2f}  {rate:>13}{p50:>9}{p99:>9}"


def _table(report: Report) -> list[str]:
    b, s, e = report.bare, report.submit, report.e2e
    return [
        f"{'':<42}{'count':>7}{'secs':>9}  {'rate':>13}{'p50 ms':>9}{'p99 ms':>9}",
        _row("(a) bare Celery publish, 1 producer", b.tasks, b.publish_s,
             f"{b.publish_per_s:,.0f} task/s"),
        _row("(a) bare Celery end to end (no-op)", b.tasks, b.end_to_end_s,
             f"{b.end_to_end_per_s:,.0f} task/s"),
        _row(f"(b) SPARK POST /v1/jobs, {s.clients} clients", s.requests, s.elapsed_s,
             f"{s.per_s:,.0f} req/s", f"{s.p50_ms:.1f}", f"{s.p99_ms:.1f}"),
        _row("(c) SPARK end to end (generate_script)", e.jobs, e.end_to_end_s,
             f"{e.per_s:,.0f} job/s"),
    ]  # fmt: skip


def render(report: Report) -> str:
    """The human-readable table."""
    b, s, e = report.bare, report.submit, report.e2e
    lines = [
        f"SPARK job benchmark: Postgres 127.0.0.1:5432 ({report.database}), "
        f"Redis 127.0.0.1:6379/{REDIS_DB}, {os.cpu_count()} CPUs",
        "",
        *_table(report),
        "",
        f"submission ratio  (b) req/s / (a) publish task/s  = {report.submission_ratio:.3f}",
        f"end-to-end ratio  (c) job/s / (a) e2e task/s      = {report.end_to_end_ratio:.3f}",
        "",
        "CPU ms per item: "
        f"bare producer {b.producer_cpu_s * 1000 / b.tasks:.2f}, "
        f"bare worker {b.worker_cpu_s * 1000 / b.tasks:.2f}, "
        f"API in (b) {s.api_cpu_ms_per_request:.2f}, "
        f"API in (c) {e.api_cpu_ms_per_job:.2f}, SPARK worker {e.worker_cpu_ms_per_job:.2f}",
        f"(c) all POSTs answered after {e.post_s:.2f}s of {e.end_to_end_s:.2f}s",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table or JSON."""
    parser = argparse.ArgumentParser(prog="bench.bench_jobs", description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="end-to-end jobs (N)")
    parser.add_argument("--clients", type=int, default=DEFAULT_CLIENTS, help="HTTP clients")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    opts = parser.parse_args(argv)
    if opts.jobs < 1 or opts.clients < 1:
        parser.error("--jobs and --clients must be at least 1")
    signal.signal(signal.SIGTERM, terminate)
    report = run(opts.jobs, opts.clients)
    print(json.dumps(report.as_dict(), indent=2) if opts.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
