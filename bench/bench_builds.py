"""SPARK's build scheduling overhead vs bare Celery, both running the Unity stand-in.

    .venv/bin/python -m bench.bench_builds [--builds N] [--json]

The stand-in (fakes/unity.py, mode success, no delay) prints its log and exits at
once, appending a JSON line with time.time() when it starts and when it exits. (a) bare Celery
(SPARK's Celery config, own queue, 1 prefork process, prefetch 1, acks late): a task runs the
stand-in with Unity's arguments, reads its output to the end and stamps its own end; (b) the real
`spark api` and one `spark worker --queues builds --concurrency 1` with the stand-in as Unity:
unity_build jobs of one directory project. N builds each, one at a time, after WARMUP; per build
submit -> stand-in started, started -> exited, exited -> end (task end / the job's finished_at).
Then, on the same SPARK worker, cold vs warm builds (bench/_cold_warm.py): a project of 300
assets built with no Library/ (each asset imported at the stand-in's per-asset cost) and again
from the builder's Library cache.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.rows import TupleRow

from bench import _cold_warm
from bench._bare_build import TARGET, run_bare_builds
from bench._cli import Bench
from bench._load import LoadResult
from bench._procs import Proc, start_api_and_worker, stop_all
from bench._resources import BenchServers, bench_servers, spark_env
from bench.bench_jobs import _api_key
from fakes.unity import make_unity_project, write_launcher

DEFAULT_BUILDS = 40
WARMUP = 3
#: how often the benchmark looks at a SPARK job's row (only paces the next POST)
POLL_S = 0.005
BUILD_TIMEOUT_S = 60.0
LEGS = {
    "submit_to_start": "submit -> Unity started",
    "start_to_exit": "Unity started -> exited (stand-in)",
    "exit_to_end": "Unity exited -> task end / job terminal",
    "total": "total per build (submit -> end)",
    "overhead": "scheduling overhead (total - stand-in)",
}
STATS = ("mean", "p50", "p99")
_TERMINAL = ("succeeded", "failed", "canceled", "timed_out")


@dataclass(frozen=True)
class Stamps:
    """One build, wall clock (time.time(); one machine, one clock)."""

    job_id: str
    submitted: float
    started: float
    exited: float
    ended: float

    def legs_ms(self) -> dict[str, float]:
        """Each leg of LEGS, in ms."""
        marks = (self.submitted, self.started, self.exited, self.ended)
        gaps = [(b - a) * 1000 for a, b in itertools.pairwise(marks)]
        total = (self.ended - self.submitted) * 1000
        return dict(zip(LEGS, [*gaps, total, total - gaps[1]], strict=True))


def summarize(values: list[float]) -> dict[str, float]:
    """Mean, p50 and p99 (nearest rank) of values."""
    ranked = LoadResult(len(values), latencies_ms=values)
    return {"mean": statistics.fmean(values)} | {f"p{p}": ranked.percentile(p) for p in (50, 99)}


@dataclass(frozen=True)
class Side:
    """The measured builds of one phase, and CPU seconds per process during them."""

    builds: list[Stamps]
    cpu_s: dict[str, float]
    #: SPARK: finished_at -> the terminal row seen by the benchmark's poll (mean/p50/p99 ms)
    seen_after_ms: dict[str, float] | None = None

    def stats(self) -> dict[str, dict[str, float]]:
        """Leg -> mean/p50/p99 ms."""
        legs = [b.legs_ms() for b in self.builds]
        return {leg: summarize([one[leg] for one in legs]) for leg in LEGS}

    def cpu_ms_per_build(self) -> dict[str, float]:
        """CPU ms per build of each process group measured."""
        return {name: s * 1000 / len(self.builds) for name, s in self.cpu_s.items()}


def read_records(path: Path) -> dict[str, dict[str, float]]:
    """The stand-in's records: job id -> {"start": time, "exit": time}; every exit must be 0."""
    found: dict[str, dict[str, float]] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["event"] == "exit" and record["code"] != 0:
            raise RuntimeError(f"the stand-in exited {record['code']} for {record['job']}")
        times = found.setdefault(str(record["job"]), {})
        if record["event"] in times:
            raise RuntimeError(f"the stand-in ran twice for {record['job']}")
        times[str(record["event"])] = float(record["time"])
    return found


def stamped(job_id: str, submitted: float, ended: float, records: dict[str, Any]) -> Stamps:
    """A build's stamps, with the stand-in's start and exit for job_id."""
    times = records.get(job_id, {})
    if set(times) != {"start", "exit"}:
        raise RuntimeError(f"the stand-in recorded {sorted(times)} for {job_id}")
    return Stamps(job_id, submitted, times["start"], times["exit"], ended)


@dataclass(frozen=True)
class Paths:
    """The run's files: the Unity launcher, the project, the stand-in's two record files."""

    workdir: Path
    unity: Path
    project: Path
    #: the cold vs warm builds' project
    assets_project: Path

    def record(self, side: str) -> Path:
        """Where the stand-in appends its records in phase side."""
        return self.workdir / f"{side}-unity-record.jsonl"

    def stand_in_env(self, side: str) -> dict[str, str]:
        """FAKE_UNITY_*: success, no pause between lines, recording to record(side)."""
        return {
            "FAKE_UNITY_MODE": "success",
            "FAKE_UNITY_DELAY_S": "0",
            "FAKE_UNITY_RECORD": str(self.record(side)),
        }


def bare_phase(db: BenchServers, paths: Paths, builds: int) -> Side:
    """(a) WARMUP, then builds bare Celery builds one at a time."""
    stand_in = paths.stand_in_env("bare")
    counts = (WARMUP, builds)
    measured, cpu = run_bare_builds(
        paths.unity, paths.project, stand_in, paths.workdir, counts, db.broker_url
    )
    records = read_records(paths.record("bare"))
    stamps = [stamped(b.job_id, b.submitted, b.ended, records) for b in measured]
    return Side(stamps, {"worker": cpu})


def _start_spark(db: BenchServers, paths: Paths, procs: list[Proc]) -> str:
    """The API and one builds worker, started together (appended to procs); the API's URL."""
    env = (
        spark_env(db, paths.workdir / "var")
        | paths.stand_in_env("spark")
        | {
            "SPARK_UNITY_PATH": str(paths.unity),
            "SPARK_WORKSPACE_DIR": str(paths.workdir / "workspaces"),
            "SPARK_LIBRARY_CACHE_DIR": str(paths.workdir / "library-cache"),
            # the project lies in the run's folder
            "SPARK_SOURCE_ROOTS": json.dumps([str(paths.workdir)]),
        }
    )
    return start_api_and_worker(env, paths.workdir, procs, "builds", 1)


def _create_project(http: httpx.Client, source: Path) -> str:
    resp = http.post("/v1/projects", json={"name": "BenchGame", "source_dir": str(source)})
    if resp.status_code != 201:
        raise RuntimeError(f"POST /v1/projects answered {resp.status_code}: {resp.text[:300]}")
    return str(resp.json()["id"])


def _wait_terminal(
    conn: psycopg.Connection[TupleRow], job_id: str, worker: Proc
) -> tuple[float, float]:
    """Poll the job's row until it is terminal (it must have succeeded); its finished_at and
    when the poll saw it."""
    query = "SELECT state, finished_at, error FROM jobs WHERE id = %s"
    deadline = time.monotonic() + BUILD_TIMEOUT_S
    while True:
        state, finished, error = conn.execute(query, (job_id,)).fetchone() or (None, None, None)
        if state in _TERMINAL:
            if state != "succeeded" or finished is None:
                raise RuntimeError(f"build {job_id} ended {state}: {error}")
            return float(finished.timestamp()), time.time()
        worker.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"build {job_id} still {state} after {BUILD_TIMEOUT_S:.0f}s")
        time.sleep(POLL_S)


def _one_build(
    http: httpx.Client, conn: psycopg.Connection[TupleRow], project_id: str, worker: Proc
) -> tuple[str, float, float, float]:
    """POST one build and wait for it: its id, the POST's time, its finished_at, and when it
    was seen terminal."""
    body = {"kind": "unity_build", "project_id": project_id, "params": {"target": TARGET}}
    submitted = time.time()
    resp = http.post("/v1/jobs", json=body)
    if resp.status_code != 202:
        raise RuntimeError(f"POST /v1/jobs answered {resp.status_code}: {resp.text[:300]}")
    job_id = str(resp.json()["id"])
    return job_id, submitted, *_wait_terminal(conn, job_id, worker)


def spark_phase(
    db: BenchServers, paths: Paths, builds: int, procs: list[Proc]
) -> tuple[Side, _cold_warm.ColdWarm]:
    """(b) WARMUP, then builds SPARK unity_build jobs one at a time; then cold vs warm."""
    url = _start_spark(db, paths, procs)
    api, worker = procs[-2], procs[-1]
    auth = {"Authorization": f"Bearer {_api_key(db)}"}
    with (
        httpx.Client(base_url=url, headers=auth, timeout=30.0) as http,
        psycopg.connect(db.psycopg_url, autocommit=True) as conn,
    ):
        project_id = _create_project(http, paths.project)
        for _ in range(WARMUP):
            _one_build(http, conn, project_id, worker)
        groups = {"api": api, "worker": worker}
        cpu0 = {name: proc.cpu_seconds() for name, proc in groups.items()}
        timed = [_one_build(http, conn, project_id, worker) for _ in range(builds)]
        cpu = {name: proc.cpu_seconds() - cpu0[name] for name, proc in groups.items()}
        cold_warm = _cold_warm.run_rounds(
            http,
            paths.assets_project,
            paths.workdir / "library-cache",
            lambda project: _one_build(http, conn, project, worker)[:3],
        )
    records = read_records(paths.record("spark"))
    seen = summarize([(one[3] - one[2]) * 1000 for one in timed])
    return Side([stamped(*one[:3], records) for one in timed], cpu, seen), cold_warm


@dataclass(frozen=True)
class Report:
    """All figures of one run."""

    servers: str
    builds: int
    bare: Side
    spark: Side
    cold_warm: _cold_warm.ColdWarm

    def ratios(self) -> dict[str, dict[str, float]]:
        """SPARK ÷ bare, per leg and statistic."""
        bare, spark = self.bare.stats(), self.spark.stats()
        return {
            leg: {k: spark[leg][k] / bare[leg][k] if bare[leg][k] else math.nan for k in STATS}
            for leg in LEGS
        }

    def overhead_ms(self) -> dict[str, float]:
        """SPARK minus bare mean ms per leg."""
        bare, spark = self.bare.stats(), self.spark.stats()
        return {leg: spark[leg]["mean"] - bare[leg]["mean"] for leg in LEGS}

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for --json."""
        sides = {"bare_celery": self.bare, "spark": self.spark}
        figures = {
            name: {
                "legs_ms": side.stats(),
                "cpu_ms_per_build": side.cpu_ms_per_build(),
                "seen_after_finished_ms": side.seen_after_ms,
                "builds": [dataclasses.asdict(b) | {"legs_ms": b.legs_ms()} for b in side.builds],
            }
            for name, side in sides.items()
        }
        return {
            "servers": self.servers,
            "cpus": os.cpu_count(),
            "builds": self.builds,
            "warmup": WARMUP,
            **figures,
            "ratios": self.ratios(),
            "overhead_ms": self.overhead_ms(),
            "library_cache": {
                "assets": self.cold_warm.cold[0].assets,
                "import_s_per_asset": _cold_warm.IMPORT_S,
                "library_bytes": self.cold_warm.library_bytes,
                **self.cold_warm.means(),
                "cold": [dataclasses.asdict(t) for t in self.cold_warm.cold],
                "warm": [dataclasses.asdict(t) for t in self.cold_warm.warm],
            },
        }


def _prepare(workdir: Path) -> Paths:
    (workdir / "var").mkdir()
    unity = write_launcher(workdir / "unity")
    project = make_unity_project(workdir / "BenchGame", "success", 0.0)
    return Paths(workdir, unity, project, _cold_warm.make_project(workdir / "AssetsGame"))


def run(builds: int = DEFAULT_BUILDS) -> Report:
    """(a) then (b) on servers of the run's own; every child and server is stopped."""
    with (
        tempfile.TemporaryDirectory(prefix="spark-bench-builds-") as tmp,
        bench_servers() as db,
    ):
        paths = _prepare(Path(tmp))
        procs: list[Proc] = []
        try:
            bare = bare_phase(db, paths, builds)
            spark, cold_warm = spark_phase(db, paths, builds, procs)
        finally:
            stop_all(procs)
    return Report(db.name, builds, bare, spark, cold_warm)


def _cells(values: dict[str, float], fmt: str) -> str:
    return "".join(f"{values[k]:{fmt}}" for k in STATS)


def _labelled(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {values[k]:.1f}" for k in STATS if k in values) + " ms"


def render(r: Report) -> str:
    """The human-readable table."""
    bare, spark, ratios, over = r.bare.stats(), r.spark.stats(), r.ratios(), r.overhead_ms()
    head = "".join(f"{k:>8}" for k in STATS)
    bare_cpu, spark_cpu = r.bare.cpu_ms_per_build(), r.spark.cpu_ms_per_build()
    return "\n".join([
        f"SPARK build benchmark: Unity stand-in (success, no delay), {r.builds} builds one at a "
        f"time after {WARMUP} warm-up, 1 worker process each,",
        f"{r.servers}, {os.cpu_count()} CPUs",
        "",
        f"{'':<41}{'bare Celery ms':>24}{'SPARK ms':>24}{'SPARK / bare':>21}{'+ms':>9}",
        f"{'':<41}{head}{head}{''.join(f'{k:>7}' for k in STATS)}{'mean':>9}",
        *(f"{LEGS[leg]:<41}{_cells(bare[leg], '8.1f')}{_cells(spark[leg], '8.1f')}"
          f"{_cells(ratios[leg], '7.2f')}{over[leg]:>+9.1f}" for leg in LEGS),
        "",
        "SPARK finished_at -> terminal row seen by the benchmark (the finishing commit, a "
        f"{POLL_S * 1000:.0f} ms poll): {_labelled(r.spark.seen_after_ms or {})}",
        f"CPU ms per build: bare worker {bare_cpu['worker']:.1f}, SPARK worker "
        f"{spark_cpu['worker']:.1f}, SPARK API {spark_cpu['api']:.1f} (the stand-in excluded)",
        "",
        *_cold_warm.render(r.cold_warm),
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table or JSON."""
    return Bench(
        "bench.bench_builds",
        __doc__ or "",
        "--builds",
        DEFAULT_BUILDS,
        "builds per phase",
        run,
        render,
        lambda r: r.as_dict(),
    ).main(argv)


if __name__ == "__main__":
    sys.exit(main())
