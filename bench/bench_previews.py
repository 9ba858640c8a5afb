"""Previews: a cache-hit render_preview against an offline generate_script job in the same
run, and what the editor bridge adds around the editor's own screenshot time.

    .venv/bin/python -m bench.bench_previews [--jobs N] [--json]

The real `spark api` and one `spark worker` (generation and previews queues, 2 processes), with
`spark consumer`, on the run's own servers (bench._resources; the preview cache is in its
Redis), with SPARK_UNITY_MCP_URL pointing at unity-mcp's real server (its own venv,
`make .venv/unity-mcp/.installed`) with one stand-in Unity Editor connected to it. (a) N jobs
of each kind, one at a time and interleaved, each timed from its POST until the database says
`succeeded`: a render_preview that the cache answers (one miss warms it first) and an offline
generate_script. (b) N screenshots through the bridge (McpBridge attach + screenshot, as a
worker takes one), each compared with the editor's own work for that capture, timed by running
its handler directly.
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
from bench._load import JOB_BODY, LoadResult
from bench._procs import Proc, start_api_and_worker, stop_all
from bench._resources import BenchServers, bench_servers, spark_env
from bench._unity_mcp import StandIn, bridge_overheads, require_server
from bench.bench_jobs import _api_key

DEFAULT_JOBS = 200
WARMUP = 10
POLL_S = 0.001
JOB_TIMEOUT_S = 60.0
PREVIEW = {"width": 640, "height": 360, "format": "png", "scene": "Assets/Scenes/SampleScene.unity"}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ranked = LoadResult(len(samples), latencies_ms=samples)
    return {"p50": ranked.percentile(50), "p99": ranked.percentile(99)}


@dataclass(frozen=True)
class Report:
    """Every figure of one run, in milliseconds."""

    servers: str
    jobs: int
    preview_hit_ms: dict[str, float]
    generate_ms: dict[str, float]
    bridge_total_ms: dict[str, float]
    editor_own_ms: dict[str, float]
    bridge_overhead_ms: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        ratio = {q: self.preview_hit_ms[q] / self.generate_ms[q] for q in ("p50", "p99")}
        extra = {"preview_hit_vs_generate": ratio, "cpus": os.cpu_count()}
        return asdict(self) | extra


def _start_spark(db: BenchServers, workdir: Path, editor_url: str, procs: list[Proc]) -> str:
    env = spark_env(db, workdir / "var") | {
        "SPARK_UNITY_MCP_URL": editor_url,
        # the project lies in the run's folder
        "SPARK_SOURCE_ROOTS": json.dumps([str(workdir)]),
    }
    return start_api_and_worker(env, workdir, procs, "generation,previews", 2)


def _one_job(http: httpx.Client, conn: psycopg.Connection[Any], body: dict[str, Any]) -> float:
    """POST body and poll its row until succeeded; the milliseconds in between."""
    start = time.perf_counter()
    resp = http.post("/v1/jobs", json=body)
    if resp.status_code != 202:
        raise RuntimeError(f"POST answered {resp.status_code}: {resp.text[:200]}")
    job_id = resp.json()["id"]
    while True:
        row = conn.execute("SELECT state, error, result FROM jobs WHERE id = %s", (job_id,))
        state, error, result = row.fetchone() or ("queued", None, None)
        if state == "succeeded":
            elapsed = (time.perf_counter() - start) * 1000
            if body["kind"] == "render_preview" and not (result or {}).get("cached"):
                raise RuntimeError(f"preview {job_id} was not a cache hit: {result}")
            return elapsed
        if state in ("failed", "canceled", "timed_out"):
            raise RuntimeError(f"{body['kind']} job {job_id} ended {state}: {error}")
        if time.perf_counter() - start > JOB_TIMEOUT_S:
            raise RuntimeError(f"{body['kind']} job {job_id} still {state}")
        time.sleep(POLL_S)


def _jobs(
    db: BenchServers, url: str, token: str, project: str, count: int
) -> tuple[list[float], list[float]]:
    """(a) WARMUP, then count, of each kind, one at a time, alternating."""
    preview = {"kind": "render_preview", "project_id": project, "params": PREVIEW}
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(base_url=url, headers=headers, timeout=30.0) as http,
        psycopg.connect(db.psycopg_url, autocommit=True) as conn,
    ):
        first = http.post("/v1/jobs", json=preview).json()["id"]
        _wait_done(conn, first)
        hits: list[float] = []
        generated: list[float] = []
        for n in range(WARMUP + count):
            if n == WARMUP:
                hits.clear()
                generated.clear()
            hits.append(_one_job(http, conn, preview))
            generated.append(_one_job(http, conn, JOB_BODY))
    return hits, generated


def _wait_done(conn: psycopg.Connection[Any], job_id: str) -> None:
    """Wait for the cache-warming miss (it may not be a hit, so _one_job cannot time it)."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        row = conn.execute("SELECT state, error FROM jobs WHERE id = %s", (job_id,)).fetchone()
        if row and row[0] == "succeeded":
            return
        if row and row[0] in ("failed", "canceled", "timed_out"):
            raise RuntimeError(f"the cache-warming preview ended {row[0]}: {row[1]}")
        time.sleep(0.01)
    raise RuntimeError("the cache-warming preview did not finish")


def run(jobs: int = DEFAULT_JOBS) -> Report:
    """Both phases on servers of the run's own; every child and server is stopped."""
    require_server()
    with (
        tempfile.TemporaryDirectory(prefix="spark-bench-previews-") as tmp,
        bench_servers() as db,
    ):
        workdir = Path(tmp)
        (workdir / "var").mkdir()
        procs: list[Proc] = []
        editor = StandIn(workdir)
        try:
            editor.start()
            url = _start_spark(db, workdir, editor.url, procs)
            token = _api_key(db)
            with httpx.Client(base_url=url, timeout=30.0) as http:
                body = {"name": "bench-previews", "source_dir": str(workdir)}
                headers = {"Authorization": f"Bearer {token}"}
                created = http.post("/v1/projects", json=body, headers=headers)
                if created.status_code != 201:
                    raise RuntimeError(f"POST /v1/projects: {created.status_code} {created.text}")
                project = str(created.json()["id"])
            hits, generated = _jobs(db, url, token, project, jobs)
            totals, own = bridge_overheads(editor, jobs, WARMUP, db.redis_url)
        finally:
            stop_all(procs)
            editor.stop()
    overhead = [t - o for t, o in zip(totals, own, strict=True)]
    return Report(
        db.name,
        jobs,
        _percentiles(hits),
        _percentiles(generated),
        _percentiles(totals),
        _percentiles(own),
        _percentiles(overhead),
    )


def _row(label: str, figures: dict[str, float]) -> str:
    return f"{label:<58}{figures['p50']:>9.2f}{figures['p99']:>9.2f}"


def render(r: Report) -> str:
    """The human-readable table."""
    d = r.as_dict()["preview_hit_vs_generate"]
    return "\n".join([
        "SPARK previews benchmark: spark api + 1 worker (2 processes) + spark consumer, "
        f"{r.servers}, unity-mcp's server + a stand-in editor, {os.cpu_count()} CPUs, "
        f"{r.jobs} of each",
        "",
        f"{'(a) one job at a time, POST to succeeded':<58}{'p50 ms':>9}{'p99 ms':>9}",
        _row("render_preview 640x360 png, cache hit", r.preview_hit_ms),
        _row("generate_script, offline generator", r.generate_ms),
        f"cache hit / generate_script: p50 {d['p50']:.2f}, p99 {d['p99']:.2f}",
        "",
        f"{'(b) one 640x360 screenshot at a time (1920x1080 view)':<58}{'p50 ms':>9}{'p99 ms':>9}",
        _row("McpBridge attach + screenshot, as a worker takes one", r.bridge_total_ms),
        _row("the stand-in editor's own capture (its handler, alone)", r.editor_own_ms),
        _row("bridge + server overhead (the difference, per call)", r.bridge_overhead_ms),
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table or JSON."""
    return Bench(
        "bench.bench_previews",
        __doc__ or "",
        "--jobs",
        DEFAULT_JOBS,
        "jobs of each kind, and screenshots through the bridge",
        run,
        render,
        lambda r: r.as_dict(),
    ).main(argv)


if __name__ == "__main__":
    sys.exit(main())
