"""SPARK's generate_script job vs the bare openai SDK, both against an instant fake LLM.

    .venv/bin/python -m bench.bench_llm [--jobs N] [--json]

bench._fake_llm (a subprocess on 127.0.0.1) answers every chat completion at once with the same
valid `write_script` tool call. (a) N sequential chat.completions.create() calls with the bare
SDK and SPARK's arguments; (b) the real `spark api` and one `spark worker` (generation queue,
concurrency 1) using the fake: N generate_script jobs one at a time (POST, then poll the row
every 5 ms until it has succeeded), then N jobs posted at once, until all have succeeded.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import openai
import psycopg
from psycopg.rows import TupleRow

from bench import _fake_llm as fake_llm
from bench._cli import Bench
from bench._load import LoadResult, post_jobs
from bench._procs import Proc, cpu_seconds_since, server_ticks, start_api_and_worker, stop_all
from bench._resources import BenchServers, bench_servers, spark_env, state_counts, truncate_jobs
from bench.bench_jobs import _api_key
from spark.config import Settings
from spark.llm import prompting
from spark.llm.base import ScriptRequest
from spark.llm.openai_compat import _messages as spark_messages

DEFAULT_JOBS = 300
WARMUP = 20
POLL_S = 0.005
#: give up when no job has succeeded for this long (e.g. the broker's db was flushed)
STALL_S = 20.0
#: HTTP clients posting the "all at once" jobs
BURST_CLIENTS = 16
MODEL, LLM_API_KEY = "fake-coder", "x"
#: the job bench._load posts too
PROMPT, CLASS_NAME = "a coin that spins and can be collected", "Coin"
JOB = {"kind": "generate_script", "params": {"prompt": PROMPT, "class_name": CLASS_NAME}}
CPU_PARTS = ("client", "fake_llm", "api", "worker", "postgres")
T = TypeVar("T")
_LOST = "were the queued messages lost? see the worker's log"


@dataclass(frozen=True)
class Phase:
    """count calls or jobs in elapsed_s: CPU ms per item of each process (CPU_PARTS), the
    completions the fake answered, and for a sequential phase the mean/p50/p99 latency."""

    count: int
    elapsed_s: float
    cpu_ms: dict[str, float]
    llm_calls: int
    latency_ms: dict[str, float] | None = None

    @property
    def per_s(self) -> float:
        """Items per second."""
        return self.count / self.elapsed_s


@dataclass
class Meter:
    """Measures one phase at a time: CPU of this process ("client"), of Postgres and of each
    child group in procs, and the completions the fake LLM answered."""

    postgres_pid: int
    fake_url: str
    procs: dict[str, Proc] = field(default_factory=dict)
    _start: dict[str, float] = field(default_factory=dict)
    _pg: dict[int, int] = field(default_factory=dict)
    _calls: int = 0

    def _now(self) -> dict[str, float]:
        found = {name: proc.cpu_seconds() for name, proc in self.procs.items()}
        return found | {"client": time.process_time()}

    def start(self) -> None:
        """Start measuring (the fake's count is read first, so reading it is not measured)."""
        self._calls = fake_llm.answered(self.fake_url)
        self._start, self._pg = self._now(), server_ticks(self.postgres_pid)

    def stop(self, count: int, elapsed_s: float, latency: dict[str, float] | None = None) -> Phase:
        """The phase since start(); CPU per CPU_PARTS (0 for a child not yet running)."""
        end = self._now()
        pg = cpu_seconds_since(self._pg, server_ticks(self.postgres_pid))
        used = {k: v - self._start.get(k, v) for k, v in end.items()} | {"postgres": pg}
        cpu = {k: used.get(k, 0.0) * 1000 / count for k in CPU_PARTS}
        calls = fake_llm.answered(self.fake_url) - self._calls
        return Phase(count, elapsed_s, cpu, calls, latency)


def sequential(step: Callable[[], T], count: int, meter: Meter) -> tuple[Phase, list[T]]:
    """step() WARMUP times, then count times measured, one after another; step()'s results."""
    for _ in range(WARMUP):
        step()
    samples, results = [], []
    meter.start()
    started = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        results.append(step())
        samples.append((time.perf_counter() - t0) * 1000)
    elapsed, ranked = time.perf_counter() - started, LoadResult(count, latencies_ms=samples)
    latency = {f"p{p}": ranked.percentile(p) for p in (50, 99)}
    return meter.stop(count, elapsed, {"mean": statistics.fmean(samples)} | latency), results


@dataclass(frozen=True)
class Target:
    """The running SPARK under test."""

    db: BenchServers
    url: str
    token: str
    worker: Proc


def sdk_arguments() -> dict[str, Any]:
    """What SPARK's generator passes to chat.completions.create() for this job."""
    # spark.llm.factory: the default `reasoning` (deterministic) uses this temperature
    temperature = Settings.model_fields["llm_deterministic_temperature"].default
    return {
        "model": MODEL,
        "messages": spark_messages(ScriptRequest(prompt=PROMPT, class_name=CLASS_NAME)),
        "temperature": float(temperature),
        "tools": [prompting.WRITE_SCRIPT_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "write_script"}},
    }


def _sdk_call(completions: Any, arguments: dict[str, Any]) -> None:
    response = completions.create(**arguments)
    call = response.choices[0].message.tool_calls[0]
    if not json.loads(call.function.arguments).get("code"):
        raise RuntimeError("the fake LLM answered without code")


def bare_sdk(meter: Meter, calls: int) -> Phase:
    """(a) calls sequential chat.completions.create() with one client, after a warm-up."""
    client = openai.OpenAI(base_url=f"{meter.fake_url}/v1", api_key=LLM_API_KEY, max_retries=0)
    completions: Any = client.chat.completions  # plain-dict messages, as SPARK sends them
    arguments = sdk_arguments()
    try:
        return sequential(lambda: _sdk_call(completions, arguments), calls, meter)[0]
    finally:
        client.close()


def _start_spark(db: BenchServers, workdir: Path, fake_url: str, procs: list[Proc]) -> str:
    """The API and one worker process, started together (appended to procs); the API's URL."""
    env = spark_env(db, workdir / "var") | {
        "SPARK_LLM_BASE_URL": f"{fake_url}/v1",
        "SPARK_LLM_MODEL": MODEL,
        "SPARK_LLM_API_KEY": LLM_API_KEY,
    }
    return start_api_and_worker(env, workdir, procs, "generation", 1)


def wait_for(
    conn: psycopg.Connection[TupleRow], target: Target, expected: int, job_id: str = ""
) -> float:
    """Poll every POLL_S until expected jobs (or job job_id) have succeeded; the perf_counter
    time it happened. Raises if one fails, or if none succeeds for STALL_S: jobs whose
    messages were lost would stay queued for ever."""
    query = "SELECT count(*) FILTER (WHERE state = 'succeeded'), count(*) FILTER (WHERE state"
    query += " IN ('failed', 'canceled')) FROM jobs" + (" WHERE id = %s" if job_id else "")
    args = (job_id,) if job_id else ()
    last, progressed = -1, time.monotonic()
    while True:
        done, failed = conn.execute(query, args).fetchone() or (0, 0)
        if done >= expected:
            return time.perf_counter()
        target.worker.check_alive()
        if failed:
            raise RuntimeError(f"{failed} job(s) failed: {state_counts(target.db)}")
        if done != last:
            last, progressed = done, time.monotonic()
        elif time.monotonic() - progressed > STALL_S:
            counts = state_counts(target.db)
            raise RuntimeError(f"no job succeeded for {STALL_S:.0f}s: {counts} ({_LOST})")
        time.sleep(POLL_S)


@dataclass(frozen=True)
class _Stamp:
    """A one-at-a-time job; posted and seen (`succeeded`) are wall clock, as the row's times."""

    job_id: str
    answered_ms: float
    posted: float
    seen: float


def _one_job(http: httpx.Client, conn: psycopg.Connection[TupleRow], target: Target) -> _Stamp:
    posted, t0 = time.time(), time.perf_counter()
    resp = http.post("/v1/jobs", json=JOB)
    answered_ms = (time.perf_counter() - t0) * 1000
    if resp.status_code != 202:
        raise RuntimeError(f"POST /v1/jobs answered {resp.status_code}: {resp.text[:300]}")
    job_id = str(resp.json()["id"])
    wait_for(conn, target, 1, job_id)
    return _Stamp(job_id, answered_ms, posted, time.time())


#: the breakdown of a one-at-a-time job's latency (mean ms), from its row's timestamps
BREAKDOWN = {
    "post_to_created": "POST sent -> row created (API: HTTP, auth, validation)",
    "created_to_started": "created -> claimed (commit, publish, 202; Redis, Celery, claim)",
    "started_to_finished": "claimed -> finished (LLM call, C# checks, progress, result)",
    "finished_to_seen": f"finished -> seen (commit, {POLL_S * 1000:.0f} ms poll)",
    "post_answered": "(POST sent -> 202 received, overlapping the first two)",
}


def _breakdown(conn: psycopg.Connection[TupleRow], stamps: list[_Stamp]) -> dict[str, float]:
    query = "SELECT id::text, created_at, started_at, finished_at FROM jobs WHERE id = ANY(%s)"
    rows = conn.execute(query, ([s.job_id for s in stamps],)).fetchall()
    times = {str(r[0]): (r[1].timestamp(), r[2].timestamp(), r[3].timestamp()) for r in rows}
    gaps = []
    for s in stamps:
        created, started, finished = times[s.job_id]
        gaps.append((created - s.posted, started - created, finished - started, s.seen - finished))
    means = [statistics.fmean(column) * 1000 for column in zip(*gaps, strict=True)]
    means.append(statistics.fmean(s.answered_ms for s in stamps))
    return dict(zip(BREAKDOWN, means, strict=True))


def one_at_a_time(target: Target, jobs: int, meter: Meter) -> tuple[Phase, dict[str, float]]:
    """(b) POST a job, poll until it has succeeded, next; after WARMUP such jobs."""
    auth = {"Authorization": f"Bearer {target.token}"}
    with (
        httpx.Client(base_url=target.url, headers=auth, timeout=30.0) as http,
        psycopg.connect(target.db.psycopg_url, autocommit=True) as conn,
    ):
        phase, stamps = sequential(lambda: _one_job(http, conn, target), jobs, meter)
        return phase, _breakdown(conn, stamps)


def all_at_once(target: Target, jobs: int, meter: Meter) -> tuple[Phase, float]:
    """(b) POST jobs with BURST_CLIENTS clients, until all have succeeded; and the POSTs' time."""
    truncate_jobs(target.db)  # the worker is idle: every earlier job has succeeded
    with psycopg.connect(target.db.psycopg_url, autocommit=True) as conn:
        meter.start()
        load = post_jobs(target.url, target.token, jobs, BURST_CLIENTS)
        done = wait_for(conn, target, jobs)
        return meter.stop(jobs, done - load.started_at), load.elapsed_s


@dataclass(frozen=True)
class Report:
    """All figures of one run."""

    servers: str
    sdk: Phase
    sequential: Phase
    breakdown_ms: dict[str, float]
    burst: Phase
    burst_post_s: float

    def figures(self) -> dict[str, float]:
        """Overhead per job (ms), the latency and throughput ratios, LLM calls per job."""
        sdk, seq = ((p.latency_ms or {}).get("mean", 0.0) for p in (self.sdk, self.sequential))
        calls = self.sequential.llm_calls + self.burst.llm_calls
        return {
            "overhead_ms_per_job": seq - sdk,
            "latency_ratio": seq / sdk,
            "throughput_ratio": self.burst.per_s / self.sdk.per_s,
            "llm_calls_per_job": calls / (self.sequential.count + self.burst.count),
        }

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for --json."""
        rates = {name: getattr(self, name).per_s for name in ("sdk", "sequential", "burst")}
        extra = {"cpus": os.cpu_count(), "per_s": rates}
        return asdict(self) | extra | self.figures()


def _phases(db: BenchServers, workdir: Path, jobs: int, procs: list[Proc]) -> Report:
    fake_url, fake = fake_llm.start(workdir, procs)
    meter = Meter(db.postgres_pid, fake_url, {"fake_llm": fake})
    sdk = bare_sdk(meter, jobs)
    url = _start_spark(db, workdir, fake_url, procs)
    meter.procs |= {"api": procs[-2], "worker": procs[-1]}
    target = Target(db, url, _api_key(db), procs[-1])
    sequential, breakdown = one_at_a_time(target, jobs, meter)
    burst, post_s = all_at_once(target, jobs, meter)
    report = Report(db.name, sdk, sequential, breakdown, burst, post_s)
    calls = report.figures()["llm_calls_per_job"]
    if sdk.llm_calls != jobs or calls != 1.0:
        print(f"warning: (a) made {sdk.llm_calls} calls for {jobs}; {calls:.3f} LLM calls per "
              "SPARK job (repairs or retries?)", file=sys.stderr)  # fmt: skip
    return report


def run(jobs: int = DEFAULT_JOBS) -> Report:
    """(a) then (b) on servers of the run's own; every child and server is stopped."""
    fake_llm.check_script()
    with tempfile.TemporaryDirectory(prefix="spark-bench-llm-") as tmp, bench_servers() as db:
        workdir = Path(tmp)
        (workdir / "var").mkdir()
        procs: list[Proc] = []
        try:
            return _phases(db, workdir, jobs, procs)
        finally:
            stop_all(procs)


def _row(label: str, phase: Phase, unit: str) -> str:
    lat = phase.latency_ms or {}
    cols = "".join(f"{lat[k]:>9.2f}" for k in ("mean", "p50", "p99") if k in lat)
    rate = f"{phase.per_s:,.1f} {unit}/s"
    return f"{label:<40}{phase.count:>6}{phase.elapsed_s:>8.2f}{rate:>14}{cols}"


def _cpu_row(label: str, phase: Phase) -> str:
    return f"{label:<40}" + "".join(f"{phase.cpu_ms[k]:>9.2f}" for k in CPU_PARTS)


def render(r: Report) -> str:
    """The human-readable table."""
    f = r.figures()
    return "\n".join([
        "SPARK LLM benchmark: fake OpenAI-compatible server on 127.0.0.1 (subprocess, stdlib "
        f"ThreadingHTTPServer), {r.servers}, 1 worker process + spark consumer, "
        f"{os.cpu_count()} CPUs",
        "",
        f"{'':<40}{'count':>6}{'secs':>8}{'rate':>14}{'mean ms':>9}{'p50 ms':>9}{'p99 ms':>9}",
        _row("(a) bare openai SDK, sequential calls", r.sdk, "call"),
        _row("(b) SPARK jobs one at a time", r.sequential, "job"),
        _row(f"(b) SPARK jobs all at once, {BURST_CLIENTS} clients", r.burst, "job"),
        "",
        f"overhead per job  (b) mean - (a) mean                = {f['overhead_ms_per_job']:.2f} ms",
        f"latency ratio     (b) mean / (a) mean                = {f['latency_ratio']:.2f}",
        f"throughput ratio  (b) all-at-once job/s / (a) call/s = {f['throughput_ratio']:.3f}",
        f"LLM calls per SPARK job = {f['llm_calls_per_job']:.3f}",
        "",
        f"{'CPU ms per call/job':<40}{'client':>9}{'fake LLM':>9}{'API':>9}{'worker':>9}"
        f"{'postgres':>9}",
        _cpu_row("(a) bare openai SDK", r.sdk),
        _cpu_row("(b) SPARK one at a time", r.sequential),
        _cpu_row("(b) SPARK all at once", r.burst),
        "",
        "(b) one at a time: where a job's latency goes (mean ms, from the job's timestamps)",
        *(f"    {BREAKDOWN[k]:<66}{ms:>8.2f}" for k, ms in r.breakdown_ms.items()),
        f"(b) all at once: every POST answered after {r.burst_post_s:.2f}s of "
        f"{r.burst.elapsed_s:.2f}s",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table or JSON."""
    return Bench(
        "bench.bench_llm",
        __doc__ or "",
        "--jobs",
        DEFAULT_JOBS,
        "calls / jobs per phase",
        run,
        render,
        lambda r: r.as_dict(),
    ).main(argv)


if __name__ == "__main__":
    sys.exit(main())
