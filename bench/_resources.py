"""The benchmark's own servers: PostgreSQL, Redis (Valkey) and NATS started for one run.

They are SPARK's embedded stack (spark/embedded), the servers `spark up` and the tests run,
started durable as production would run them, on free ports under a temporary folder, and
stopped and deleted at the end: a benchmark never touches a server it did not start.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis
from psycopg.rows import TupleRow

from spark.db import migrate
from spark.embedded.stack import NATS, POSTGRES, EmbeddedStack, StackOptions


@dataclass(frozen=True)
class BenchServers:
    """The run's servers: URLs for psycopg, SPARK and the bare clients, and their process ids."""

    #: what the reports print: the servers and where they listen
    name: str
    psycopg_url: str
    spark_url: str
    #: Celery's broker (SPARK's and the bare workers'), Redis db 0
    broker_url: str
    #: SPARK's rate limits, quotas, breakers and caches, Redis db 1
    redis_url: str
    nats_url: str
    #: process groups (each server leads its own), for CPU accounting
    postgres_pid: int
    nats_pid: int


def _required(value: str | None) -> str:
    if value is None:
        raise RuntimeError("the benchmark's stack started without one of its servers")
    return value


def _servers(stack: EmbeddedStack) -> BenchServers:
    urls = stack.urls()
    spark_url = _required(urls.database_url)
    broker, nats_url = _required(urls.broker_url), _required(urls.nats_url)
    pids = {name: stack.servers[name].pid or 0 for name in (POSTGRES, NATS)}
    where = [url.split("@")[-1].split("//")[-1] for url in (spark_url, broker, nats_url)]
    return BenchServers(
        name="own PostgreSQL {}, Valkey {}, NATS {}".format(*where),
        psycopg_url=spark_url.replace("postgresql+psycopg://", "postgresql://"),
        spark_url=spark_url,
        broker_url=broker,
        redis_url=_required(urls.redis_url),
        nats_url=nats_url,
        postgres_pid=pids[POSTGRES],
        nats_pid=pids[NATS],
    )


@contextmanager
def bench_servers() -> Iterator[BenchServers]:
    """Start the stack (durable) and migrate its database; stop and delete it on the way out."""
    # As root Postgres runs as nobody, who must be able to reach its data folder.
    root = Path(tempfile.mkdtemp(prefix="spark-bench-stack-"))
    root.chmod(0o755)
    stack = EmbeddedStack(root, StackOptions(durable=True))
    try:
        stack.start()
        servers = _servers(stack)
        migrate.upgrade(servers.spark_url)
        yield servers
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


def flush_redis(url: str) -> None:
    """Empty the run's Redis server (every db: the server is the benchmark's own)."""
    client = redis.Redis.from_url(url)
    try:
        client.flushall()
    finally:
        client.close()


def purge_queues(url: str) -> None:
    """Drop every queued and unacknowledged message on the broker at url, keeping the queues'
    bindings (a running producer declared them once and would find no route without them)."""
    client = redis.Redis.from_url(url)
    try:
        stale = [k for k in client.scan_iter() if not k.startswith(b"_kombu.binding.")]
        if stale:
            client.delete(*stale)
    finally:
        client.close()


def truncate_jobs(db: BenchServers) -> None:
    """Forget every job (and its outbox row) and the events; the API keys stay."""
    with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
        conn.execute("TRUNCATE jobs, spark_events CASCADE")


def count_succeeded(conn: psycopg.Connection[TupleRow], table: str = "jobs") -> int:
    """How many jobs of table (SPARK's, or the thin front's) have succeeded so far."""
    row = conn.execute(f"SELECT count(*) FROM {table} WHERE state = 'succeeded'").fetchone()
    return int(row[0]) if row else 0


def state_counts(db: BenchServers) -> dict[str, int]:
    """Jobs per state (for error reports)."""
    with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
        rows = conn.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall()
    return {str(state): int(n) for state, n in rows}


#: every tier's limits raised out of the way: the benchmarks measure the service, not its
#: refusals (the layer's own cost is bench_security's); the checks themselves still run
UNLIMITED_TIERS = json.dumps(
    {
        tier: {
            "requests_per_day": 10**9,
            "tokens_per_month": 10**12,
            "concurrent_builds": 10**6,
            "submissions_per_minute": 10**9,
            "writes_per_minute": 10**9,
            "reads_per_minute": 10**9,
        }
        for tier in ("free", "pro", "enterprise")
    }
)


def spark_env(db: BenchServers, var_dir: Path) -> dict[str, str]:
    """SPARK_* variables pointing a SPARK process at the run's servers, all four as deployed."""
    return {
        "SPARK_TIER_LIMITS": UNLIMITED_TIERS,
        "SPARK_DATABASE_URL": db.spark_url,
        "SPARK_BROKER_URL": db.broker_url,
        "SPARK_REDIS_URL": db.redis_url,
        "SPARK_NATS_URL": db.nats_url,
        "SPARK_VAR_DIR": str(var_dir),
        "SPARK_STORAGE_URL": str(var_dir / "storage"),
        "SPARK_OFFLINE_LATENCY_S": "0",
    }
