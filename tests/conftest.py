"""Fixtures: a fresh Postgres database, a Redis broker, API clients and real Celery workers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from fakes.jwks import JwksServer, SigningKey
from spark.config import Settings
from spark.db import migrate
from spark.db.engine import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Permission, Tier
from spark.security.apikeys import create_key
from tests.support.databases import fresh_database
from tests.support.services import ensure_services
from tests.support.workers import WorkerProcess

# Tests build their own settings: nothing from the developer's shell may leak in.
for _name in [n for n in os.environ if n.startswith("SPARK_") and not n.startswith("SPARK_TEST_")]:
    del os.environ[_name]

REDIS_DB = int(os.environ.get("SPARK_TEST_REDIS_DB", "13"))
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
TABLES = (
    "job_outbox",
    "jobs",
    "api_keys",
    "spark_events",
    "event_outbox",
    "event_dead_letters",
    "projects",
    "project_webhooks",
    "webhook_deliveries",
    "usage_records",
    "usage_counters",
    "audit_log",
    "project_files",
    "file_versions",
    "file_blobs",
    "rollup_jobs_hourly",
    "rollup_tokens_hourly",
    "rollup_builds_hourly",
    "rollup_marks",
)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A Postgres database made for this run and migrated to head; dropped afterwards."""
    ensure_services()
    with fresh_database("spark_test") as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def broker_url() -> str:
    """A Redis database of its own for the Celery broker, emptied at the start."""
    ensure_services()
    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


@pytest.fixture(scope="session")
def settings(pg_url: str, broker_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for the production topology on the local services."""
    var = tmp_path_factory.mktemp("var")
    return Settings(
        database_url=pg_url,
        broker_url=broker_url,
        var_dir=var,
        artifact_dir=var / "artifacts",
        heartbeat_interval_s=0.5,
        lease_s=3.0,
        relay_min_age_s=1.0,
        relay_interval_s=1.0,
        reaper_interval_s=1.0,
        # Tests register projects anywhere ("/srv/unity/coins", their tmp_path); the tests of
        # SPARK_SOURCE_ROOTS itself set their own.
        source_roots=[Path("/")],
        # Every webhook receiver a test runs is on 127.0.0.1.
        allow_private_destinations=True,
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The test database, emptied after each test."""
    database = Database(settings.database_url)
    yield database
    with database.session() as s:
        s.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    database.dispose()


@pytest.fixture
def api_key(db: Database) -> str:
    """A key for user 'alice' with the default permissions."""
    return create_key(db, "alice", Tier.PRO, DEFAULT_PERMISSIONS).token


@pytest.fixture
def other_key(db: Database) -> str:
    """A key for user 'mallory', who must never see alice's jobs."""
    return create_key(db, "mallory", Tier.FREE, DEFAULT_PERMISSIONS).token


@pytest.fixture
def read_only_key(db: Database) -> str:
    """A key for alice that may only read."""
    return create_key(db, "alice", Tier.FREE, {Permission.READ}).token


@pytest.fixture(scope="module")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """A real Celery worker (prefork, two processes) shared by a test module."""
    proc = WorkerProcess(settings, Path(tmp_path_factory.mktemp("worker")))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    """An RSA key for RS256 tokens."""
    return SigningKey.generate("spark-test-1")


@pytest.fixture(scope="module")
def jwks(signing_key: SigningKey) -> Iterator[JwksServer]:
    """A JWKS server on 127.0.0.1 publishing signing_key."""
    server = JwksServer([signing_key]).start()
    yield server
    server.stop()
