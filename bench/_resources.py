"""The benchmark's own Postgres database and Redis db index, made for one run."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis
from psycopg.rows import TupleRow

from spark.db import migrate

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
#: a Redis db index of the benchmark's own (the test suite uses 13)
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "12"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"


@dataclass(frozen=True)
class BenchDatabase:
    """A throwaway database: its name, and URLs for psycopg and for SPARK (SQLAlchemy)."""

    name: str
    psycopg_url: str
    spark_url: str


@contextmanager
def throwaway_database() -> Iterator[BenchDatabase]:
    """Create and migrate spark_bench_<hex>; drop it on the way out, error or not."""
    name = f"spark_bench_{uuid.uuid4().hex[:10]}"
    base = PG_ADMIN.rsplit("/", 1)[0]
    found = BenchDatabase(
        name=name,
        psycopg_url=f"{base}/{name}",
        spark_url=f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://"),
    )
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate.upgrade(found.spark_url)
        yield found
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(url: str = REDIS_URL) -> None:
    """Empty the benchmark's Redis db (only that index)."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def truncate_jobs(db: BenchDatabase) -> None:
    """Forget every job (and its outbox row); the API keys stay."""
    with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
        conn.execute("TRUNCATE jobs CASCADE")


def count_succeeded(conn: psycopg.Connection[TupleRow]) -> int:
    """How many jobs have succeeded so far."""
    row = conn.execute("SELECT count(*) FROM jobs WHERE state = 'succeeded'").fetchone()
    return int(row[0]) if row else 0


def state_counts(db: BenchDatabase) -> dict[str, int]:
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


def spark_env(db: BenchDatabase, var_dir: Path, broker_url: str = REDIS_URL) -> dict[str, str]:
    """SPARK_* variables pointing a SPARK process at the benchmark's resources."""
    return {
        "SPARK_TIER_LIMITS": UNLIMITED_TIERS,
        "SPARK_DATABASE_URL": db.spark_url,
        "SPARK_BROKER_URL": broker_url,
        "SPARK_VAR_DIR": str(var_dir),
        "SPARK_ARTIFACT_DIR": str(var_dir / "artifacts"),
        "SPARK_OFFLINE_LATENCY_S": "0",
    }
