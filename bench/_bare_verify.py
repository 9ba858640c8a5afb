"""Verify-chain baseline: bare Celery with SPARK's configuration, a write then a compile and a
test run of the Unity stand-in, each a task that marks the chain's row and sends the next.

The worker runs `celery -A bench._bare_verify:app worker` (prefork, 1 process, prefetch 1,
acks late). The producer inserts the chain's row into the thin API's table (bench._bare.TABLE)
and sends `write`; `write` writes the script into the project folder, marks the row and sends
`compile`; `compile` runs the stand-in with Unity's compile-only arguments, marks the row and
sends `tests`; `tests` runs the stand-in with `-runTests`, marks the row succeeded and pushes
the chain's stamps (time.time(), carried from task to task in the arguments) to a Redis list,
where the producer waits for them (BLPOP) before it starts the next chain.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis
from celery import Celery
from psycopg.types.json import Jsonb

from bench._bare import BROKER_ENV, DATABASE_ENV, SCHEMA, TABLE, bare_app, broker_redis, broker_url
from bench._procs import Proc, child_env

UNITY_ENV, PROJECT_ENV = "BENCH_UNITY_PATH", "BENCH_PROJECT_DIR"
QUEUE = "bench_verify"
WRITE, COMPILE, TESTS = "bench.verify.write", "bench.verify.compile", "bench.verify.tests"
#: the Redis list each finished chain pushes its stamps to
DONE = "bench:verify:done"
#: the script each chain writes (its content names the chain)
SCRIPT = "Assets/Scripts/Bench.cs"
#: how long one chain may take before the baseline gives up
CHAIN_TIMEOUT_S = 60
_MARK = f"UPDATE {TABLE} SET state = %s, result = %s, updated_at = now() WHERE id = %s"
_INSERT = f"INSERT INTO {TABLE} (id, kind, state, params) VALUES (%s, 'apply_patch', 'queued', %s)"

#: per process (prefork children each make their own): the database connection
_databases: dict[int, psycopg.Connection[Any]] = {}


def script_for(chain: str) -> str:
    """The C# each chain writes: a class that compiles, named after nothing but the chain."""
    return f"public class Bench : UnityEngine.MonoBehaviour {{\n    // chain {chain}\n}}\n"


def _mark(chain: str, state: str, result: dict[str, Any]) -> None:
    conn = _databases.get(os.getpid())
    if conn is None:
        _databases.clear()
        conn = _databases[os.getpid()] = psycopg.connect(os.environ[DATABASE_ENV], autocommit=True)
    conn.execute(_MARK, (state, Jsonb(result), chain))


def _unity(args: list[str]) -> int:
    """Run the stand-in with Unity's arguments to its end (output read to EOF)."""
    unity, project = os.environ[UNITY_ENV], os.environ[PROJECT_ENV]
    command = [unity, "-batchmode", "-nographics", "-projectPath", project, *args]
    proc = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdout is not None
    with proc.stdout as stream:
        for _line in stream:
            pass
    return proc.wait()


def _send(name: str, chain: str, stamps: dict[str, float], queued: str) -> None:
    stamps[queued] = time.time()
    app.send_task(name, args=[chain, stamps], queue=QUEUE, priority=4)


def write(chain: str, stamps: dict[str, float]) -> None:
    """Write the chain's script into the project, mark the row, send the compile."""
    path = Path(os.environ[PROJECT_ENV]) / SCRIPT
    path.write_text(script_for(chain), encoding="utf-8")
    _mark(chain, "running", {"path": SCRIPT})
    _send(COMPILE, chain, stamps, "compile_queued")


def compile_(chain: str, stamps: dict[str, float]) -> None:
    """Compile the project (the stand-in, compile-only), mark the row, send the test run."""
    code = _unity(["-quit", "-logFile", "-", "-sparkJobId", f"{chain}-compile"])
    _mark(chain, "running" if code == 0 else "failed", {"compile": code})
    if code != 0:
        broker_redis().rpush(DONE, json.dumps({"chain": chain, "failed": "compile"}))
        return
    _send(TESTS, chain, stamps, "tests_queued")


def tests(chain: str, stamps: dict[str, float]) -> None:
    """Run the EditMode tests (the stand-in, -runTests), mark the row, report the stamps."""
    results = Path(os.environ[PROJECT_ENV]).parent / "bare-results" / f"{chain}.xml"
    args = ["-runTests", "-testPlatform", "EditMode", "-testResults", str(results)]
    code = _unity([*args, "-logFile", "-", "-sparkJobId", f"{chain}-tests"])
    _mark(chain, "succeeded" if code == 0 else "failed", {"tests": code})
    stamps["ended"] = time.time()
    done = {"chain": chain, "stamps": stamps} if code == 0 else {"chain": chain, "failed": "tests"}
    broker_redis().rpush(DONE, json.dumps(done))


def make_app(url: str) -> Celery:
    """The verify-baseline app on url."""
    return bare_app("bench_verify", QUEUE, {WRITE: write, COMPILE: compile_, TESTS: tests}, url)


app = make_app(broker_url())


@dataclass(frozen=True)
class BareChain:
    """One baseline chain: its id (the stand-in's records name `<id>-compile`, `<id>-tests`)
    and its stamps: submitted, compile_queued, tests_queued, ended."""

    chain: str
    stamps: dict[str, float]


@dataclass(frozen=True)
class _Producer:
    """The producer's side: its database connection, Celery app and Redis client."""

    conn: psycopg.Connection[Any]
    celery: Celery
    redis: redis.Redis
    worker: Proc


def _one(p: _Producer) -> BareChain:
    chain = str(uuid.uuid4())
    stamps = {"submitted": time.time()}
    p.conn.execute(_INSERT, (chain, Jsonb({"path": SCRIPT})))
    p.celery.send_task(WRITE, args=[chain, stamps], queue=QUEUE, priority=4)
    popped = p.redis.blpop([DONE], timeout=CHAIN_TIMEOUT_S)
    p.worker.check_alive()
    if popped is None:
        raise RuntimeError(f"bare Celery: chain {chain} not done in {CHAIN_TIMEOUT_S}s")
    done = json.loads(popped[1])
    if done["chain"] != chain or "stamps" not in done:
        raise RuntimeError(f"bare Celery: unexpected end {done} for {chain}")
    return BareChain(chain, {k: float(v) for k, v in done["stamps"].items()})


def run_bare_chains(
    unity: Path,
    project: Path,
    stand_in: dict[str, str],
    workdir: Path,
    counts: tuple[int, int],
    urls: tuple[str, str],
) -> tuple[list[BareChain], float]:
    """Start the bare worker on urls = (broker, database) (the stand-in gets stand_in,
    FAKE_UNITY_*, in its environment); counts = (warm-up, measured) chains, one at a time;
    the measured chains and the worker's CPU seconds during them."""
    broker, database = urls
    env = {UNITY_ENV: str(unity), PROJECT_ENV: str(project), BROKER_ENV: broker}
    env[DATABASE_ENV] = database
    args = ["-m", "celery", "-A", "bench._bare_verify:app", "worker", "-Q", QUEUE, "-c", "1"]
    args += ["-P", "prefork", "-l", "INFO", "-n", f"benchverify{os.getpid()}@%h", "-E"]
    args += ["--prefetch-multiplier", "1"]
    worker = Proc("bare-verify-worker", args, child_env(env | stand_in), workdir)
    producer, client = make_app(broker), redis.Redis.from_url(broker)
    try:
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(SCHEMA)
            worker.start()
            worker.wait_for_log("ready.")
            p = _Producer(conn, producer, client, worker)
            for _ in range(counts[0]):
                _one(p)
            cpu0 = worker.cpu_seconds()
            measured = [_one(p) for _ in range(counts[1])]
            return measured, worker.cpu_seconds() - cpu0
    finally:
        worker.stop()
        producer.close()
        client.close()
