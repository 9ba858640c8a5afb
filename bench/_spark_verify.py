"""Verify chains on SPARK: the real `spark api`, a `spark worker` on patches and maintenance
(the apply_patch parent, and the continuation that starts each step when the previous one
ends) and a builds-only `spark worker` with the Unity stand-in as its editor (the steps).

Each chain is `POST /v1/jobs` of an apply_patch (`full`, the one script) with `verify:
{compile: true, tests: "EditMode"}`; the parent's row is polled until it is terminal (it must
have succeeded), then its children's rows are read: when each was queued (created_at) and
which job ids the stand-in's records name.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from psycopg.rows import TupleRow

from bench._bare_verify import SCRIPT, script_for
from bench._procs import Proc, child_env, free_port, start_api_and_worker
from bench._resources import BenchServers, spark_env
from bench.bench_jobs import _api_key

#: how often the benchmark looks at the parent's row (only paces the next POST)
POLL_S = 0.005
CHAIN_TIMEOUT_S = 60.0
VERIFY = {"compile": True, "tests": "EditMode"}
_TERMINAL = ("succeeded", "failed", "canceled", "timed_out")
_PARENT = "SELECT state, finished_at, error FROM jobs WHERE id = %s"
_CHILDREN = (
    "SELECT kind, id::text, created_at, started_at, finished_at FROM jobs WHERE parent_id = %s"
)
#: a child's row stamps, as the chain's marks name them: queued, claimed by the builder, ended
_STAMPS = ("queued", "claimed", "finished")
_STEPS = {"compile_check": "compile", "run_tests": "tests"}


@dataclass(frozen=True)
class SparkSetup:
    """Where SPARK's side runs: its folder, the Unity launcher, the project, FAKE_UNITY_*."""

    workdir: Path
    unity: Path
    project: Path
    stand_in: dict[str, str]


@dataclass(frozen=True)
class SparkChain:
    """One chain: the parent's id, its marks (submitted, ended, and each step's queued,
    claimed and finished: `compile_queued`, …) and its compile_check and run_tests children's
    ids."""

    job_id: str
    marks: dict[str, float]
    steps: tuple[str, str]


@dataclass(frozen=True)
class _Side:
    http: httpx.Client
    conn: psycopg.Connection[TupleRow]
    project_id: str
    workers: list[Proc]


def _start(db: BenchServers, setup: SparkSetup, procs: list[Proc]) -> str:
    """The consumer, the API, the parents' worker and the builds worker (appended to procs
    in that order); the API's URL."""
    env = (
        spark_env(db, setup.workdir / "var")
        | setup.stand_in
        | {
            "SPARK_UNITY_PATH": str(setup.unity),
            "SPARK_WORKSPACE_DIR": str(setup.workdir / "workspaces"),
            "SPARK_LIBRARY_CACHE_DIR": str(setup.workdir / "library-cache"),
            # the project lies in the run's folder
            "SPARK_SOURCE_ROOTS": json.dumps([str(setup.workdir)]),
        }
    )
    url = start_api_and_worker(env, setup.workdir, procs, "patches,maintenance", 2)
    # a metrics port of its own: the parents' worker holds the one start_api_and_worker chose
    builder_env = env | {"SPARK_WORKER_METRICS_PORT": str(free_port())}
    args = ["-m", "spark.cli", "worker", "--queues", "builds", "--concurrency", "1"]
    procs.append(Proc("spark-builder", args, child_env(builder_env), setup.workdir))
    procs[-1].start()
    procs[-1].wait_for_log("ready.")
    return url


def _create_project(http: httpx.Client, source: Path) -> str:
    resp = http.post("/v1/projects", json={"name": "VerifyGame", "source_dir": str(source)})
    if resp.status_code != 201:
        raise RuntimeError(f"POST /v1/projects answered {resp.status_code}: {resp.text[:300]}")
    return str(resp.json()["id"])


def _wait_ended(side: _Side, job_id: str) -> float:
    """Poll the parent's row until it is terminal (it must have succeeded); its finished_at."""
    deadline = time.monotonic() + CHAIN_TIMEOUT_S
    while True:
        row = side.conn.execute(_PARENT, (job_id,)).fetchone() or (None, None, None)
        state, finished, error = row
        if state in _TERMINAL:
            if state != "succeeded" or finished is None:
                raise RuntimeError(f"chain {job_id} ended {state}: {error}")
            return float(finished.timestamp())
        for worker in side.workers:
            worker.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"chain {job_id} still {state} after {CHAIN_TIMEOUT_S:.0f}s")
        time.sleep(POLL_S)


def _one(side: _Side, n: int) -> SparkChain:
    """POST one verified patch (the n-th script) and wait for it to end."""
    content = script_for(str(n))
    params = {"path": SCRIPT, "patch_type": "full", "content": content, "verify": VERIFY}
    body = {"kind": "apply_patch", "project_id": side.project_id, "params": params}
    submitted = time.time()
    resp = side.http.post("/v1/jobs", json=body)
    if resp.status_code != 202:
        raise RuntimeError(f"POST /v1/jobs answered {resp.status_code}: {resp.text[:300]}")
    job_id = str(resp.json()["id"])
    ended = _wait_ended(side, job_id)
    marks = {"submitted": submitted, "ended": ended}
    ids: dict[str, str] = {}
    for kind, child_id, *stamps in side.conn.execute(_CHILDREN, (job_id,)):
        step = _STEPS.get(kind)
        if step is None or step in ids or None in stamps:
            raise RuntimeError(f"chain {job_id}: unexpected step {kind} {child_id} {stamps}")
        ids[step] = child_id
        marks |= {
            f"{step}_{name}": at.timestamp() for name, at in zip(_STAMPS, stamps, strict=True)
        }
    if len(ids) != len(_STEPS):
        raise RuntimeError(f"chain {job_id} ran {sorted(ids)}")
    return SparkChain(job_id, marks, (ids["compile"], ids["tests"]))


def run_spark_chains(
    db: BenchServers, setup: SparkSetup, counts: tuple[int, int], procs: list[Proc]
) -> tuple[list[SparkChain], dict[str, float]]:
    """Start SPARK (appended to procs); counts = (warm-up, measured) chains, one at a time;
    the measured chains and CPU seconds of the API, the parents' worker and the builder."""
    url = _start(db, setup, procs)
    groups = {"api": procs[-3], "worker": procs[-2], "builder": procs[-1]}
    auth = {"Authorization": f"Bearer {_api_key(db)}"}
    with (
        httpx.Client(base_url=url, headers=auth, timeout=30.0) as http,
        psycopg.connect(db.psycopg_url, autocommit=True) as conn,
    ):
        side = _Side(http, conn, _create_project(http, setup.project), procs[-2:])
        for n in range(counts[0]):
            _one(side, -1 - n)
        cpu0 = {name: proc.cpu_seconds() for name, proc in groups.items()}
        timed = [_one(side, n) for n in range(counts[1])]
        cpu = {name: proc.cpu_seconds() - cpu0[name] for name, proc in groups.items()}
    return timed, cpu
