"""SPARK's project files: apply_patch jobs end to end against generate_script (offline
generator) in the same run, and reading a file's content against reading a job.

    .venv/bin/python -m bench.bench_files [--jobs N] [--json]

The real `spark api` and one `spark worker` (generation and patches queues, 2 processes), with
`spark consumer`, on the run's own servers (bench._resources). One project with FILES C# files;
(a) N generate_script jobs POSTed by CLIENTS clients, timed from the first POST until all have
succeeded; (b) the same for N apply_patch jobs, the i-th a `replace` of file i % FILES's end
marker by a line of its own and the marker (C# syntax checked before each write); (c) N
one-at-a-time GETs of a job and, when the server has the route, of a file's content
(`GET /v1/projects/{id}/files/{path}`), interleaved.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench._cli import Bench
from bench._load import JOB_BODY, Bodies, LoadResult, post_jobs
from bench._procs import Proc, start_api_and_worker, stop_all
from bench._resources import BenchServers, bench_servers, spark_env
from bench.bench_jobs import _api_key

DEFAULT_JOBS = 500
CLIENTS = 16
WARMUP = 20
FILES = 16
STALL_S = 30.0
MARKER = "    // END"
SOURCE = "using UnityEngine;\n\npublic class Bench{n} : MonoBehaviour\n{{\n    // END\n}}\n"


def _path(n: int) -> str:
    return f"Assets/Scripts/Bench{n}.cs"


@dataclass(frozen=True)
class Burst:
    """count jobs of one kind: POSTs done after post_s, all succeeded after elapsed_s."""

    count: int
    post_s: float
    elapsed_s: float

    @property
    def per_s(self) -> float:
        return self.count / self.elapsed_s


@dataclass(frozen=True)
class Report:
    """Every figure of one run; file_read_ms is None when the server has no file route."""

    servers: str
    generate: Burst
    patch: Burst
    versions_written: int
    job_read_ms: dict[str, float]
    file_read_ms: dict[str, float] | None

    def as_dict(self) -> dict[str, Any]:
        ratio = self.patch.per_s / self.generate.per_s
        rates = {"generate_script": self.generate.per_s, "apply_patch": self.patch.per_s}
        extra = {"per_s": rates, "patch_vs_generate": ratio}
        return asdict(self) | extra | {"cpus": os.cpu_count()}


def _start_spark(db: BenchServers, workdir: Path, procs: list[Proc]) -> str:
    # The project's directory is the run's folder.
    env = spark_env(db, workdir / "var") | {"SPARK_SOURCE_ROOTS": json.dumps([str(workdir)])}
    return start_api_and_worker(env, workdir, procs, "generation,patches", 2)


def _succeeded(conn: psycopg.Connection[Any], kind: str) -> int:
    query = "SELECT count(*) FILTER (WHERE state = 'succeeded'), count(*) FILTER (WHERE state"
    query += " IN ('failed', 'canceled', 'timed_out')) FROM jobs WHERE kind = %s"
    done, failed = conn.execute(query, (kind,)).fetchone() or (0, 0)
    if failed:
        error = conn.execute(
            "SELECT error FROM jobs WHERE kind = %s AND error IS NOT NULL", (kind,)
        )
        raise RuntimeError(f"{failed} {kind} job(s) failed, e.g. {error.fetchone()}")
    return int(done)


def burst(db: BenchServers, url: str, token: str, kind: str, count: int, bodies: Bodies) -> Burst:
    """POST count jobs with CLIENTS clients; wait until all have succeeded."""
    with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
        target = _succeeded(conn, kind) + count
        load: LoadResult = post_jobs(url, token, count, CLIENTS, bodies)
        last, progressed = -1, time.monotonic()
        while (done := _succeeded(conn, kind)) < target:
            if done != last:
                last, progressed = done, time.monotonic()
            elif time.monotonic() - progressed > STALL_S:
                raise RuntimeError(f"{kind}: {done} of {target} succeeded, none for {STALL_S}s")
            time.sleep(0.01)
        return Burst(count, load.elapsed_s, time.perf_counter() - load.started_at)


def patch_bodies(project: str, offset: int) -> Bodies:
    """The i-th patch appends line offset+i to file i % FILES, before its end marker."""

    def body(i: int) -> dict[str, Any]:
        new = f"    // line {offset + i}\n{MARKER}"
        params = {
            "path": _path(i % FILES),
            "patch_type": "replace",
            "old": "    // END",
            "new": new,
        }
        return {"kind": "apply_patch", "project_id": project, "params": params}

    return body


def seed_bodies(project: str) -> Bodies:
    """The i-th creates file i with a `full` patch."""

    def body(i: int) -> dict[str, Any]:
        params = {"path": _path(i), "patch_type": "full", "content": SOURCE.format(n=i)}
        return {"kind": "apply_patch", "project_id": project, "params": params}

    return body


def _percentiles(samples: list[float]) -> dict[str, float]:
    ranked = LoadResult(len(samples), latencies_ms=samples)
    return {"p50": ranked.percentile(50), "p99": ranked.percentile(99)}


def _timed(http: httpx.Client, path: str, samples: list[float]) -> None:
    start = time.perf_counter()
    resp = http.get(path)
    samples.append((time.perf_counter() - start) * 1000)
    if resp.status_code != 200:
        raise RuntimeError(f"GET {path} answered {resp.status_code}: {resp.text[:200]}")


def reads(
    http: httpx.Client, project: str, count: int
) -> tuple[dict[str, float], dict[str, float] | None]:
    """(c) count GETs of a job and of a file's content, interleaved, after WARMUP of each."""
    job_id = http.get("/v1/jobs", params={"limit": 1}).json()["items"][0]["id"]
    file_path = f"/v1/projects/{project}/files/{_path(0)}"
    has_route = http.get(file_path).status_code == 200
    jobs: list[float] = []
    files: list[float] = []
    for n in range(WARMUP + count):
        if n == WARMUP:
            jobs.clear()
            files.clear()
        _timed(http, f"/v1/jobs/{job_id}", jobs)
        if has_route:
            _timed(http, file_path, files)
    return _percentiles(jobs), (_percentiles(files) if has_route else None)


def _versions(db: BenchServers) -> int:
    with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM file_versions").fetchone()
    return int(row[0]) if row else 0


def _phases(db: BenchServers, workdir: Path, jobs: int, procs: list[Proc]) -> Report:
    url = _start_spark(db, workdir, procs)
    token = _api_key(db)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30.0) as http:
        body = {"name": "bench-files", "source_dir": str(workdir)}
        project = str(http.post("/v1/projects", json=body).json()["id"])
        burst(db, url, token, "apply_patch", FILES, seed_bodies(project))
        burst(db, url, token, "generate_script", WARMUP, lambda _: JOB_BODY)
        burst(db, url, token, "apply_patch", WARMUP, patch_bodies(project, 0))
        generate = burst(db, url, token, "generate_script", jobs, lambda _: JOB_BODY)
        patch = burst(db, url, token, "apply_patch", jobs, patch_bodies(project, WARMUP))
        job_read, file_read = reads(http, project, jobs)
    versions = _versions(db) - FILES - WARMUP
    if versions != jobs:
        print(f"warning: {jobs} patches wrote {versions} versions", file=sys.stderr)
    return Report(db.name, generate, patch, versions, job_read, file_read)


def run(jobs: int = DEFAULT_JOBS) -> Report:
    """The three phases on servers of the run's own; every child and server is stopped."""
    with (
        tempfile.TemporaryDirectory(prefix="spark-bench-files-") as tmp,
        bench_servers() as db,
    ):
        workdir = Path(tmp)
        (workdir / "var").mkdir()
        procs: list[Proc] = []
        try:
            return _phases(db, workdir, jobs, procs)
        finally:
            stop_all(procs)


def _burst_row(label: str, b: Burst) -> str:
    return f"{label:<46}{b.count:>6}{b.post_s:>9.2f}{b.elapsed_s:>9.2f}{b.per_s:>12,.1f}"


def render(r: Report) -> str:
    """The human-readable table."""
    d = r.as_dict()
    file_line = (
        f"{'GET /v1/projects/{id}/files/{path}':<46}{r.file_read_ms['p50']:>9.2f}"
        f"{r.file_read_ms['p99']:>9.2f}"
        if r.file_read_ms
        else "GET /v1/projects/{id}/files/{path}: not served by this build (skipped)"
    )
    return "\n".join([
        "SPARK files benchmark: spark api + 1 worker (2 processes) + spark consumer, "
        f"{r.servers}, {CLIENTS} clients, {os.cpu_count()} CPUs",
        "",
        f"{'':<46}{'jobs':>6}{'POSTs s':>9}{'all s':>9}{'jobs/s':>12}",
        _burst_row("(a) generate_script, offline generator", r.generate),
        _burst_row(f"(b) apply_patch replace, {FILES} files, C# checked", r.patch),
        f"apply_patch / generate_script jobs/s = {d['patch_vs_generate']:.2f}"
        f"   (versions written by (b): {r.versions_written})",
        "",
        f"{'(c) one request at a time':<46}{'p50 ms':>9}{'p99 ms':>9}",
        f"{'GET /v1/jobs/{id}':<46}{r.job_read_ms['p50']:>9.2f}{r.job_read_ms['p99']:>9.2f}",
        file_line,
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table or JSON."""
    return Bench(
        "bench.bench_files",
        __doc__ or "",
        "--jobs",
        DEFAULT_JOBS,
        "jobs per kind, and GETs per route",
        run,
        render,
        lambda r: r.as_dict(),
    ).main(argv)


if __name__ == "__main__":
    sys.exit(main())
