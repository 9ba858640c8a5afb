"""Fixtures: the suite's own Postgres, Redis and NATS, a fresh database, the event consumer,
API clients and real Celery workers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from pydantic import SecretStr
from sqlalchemy import text

from fakes.jwks import JwksServer, SigningKey
from spark.config import Settings
from spark.db import migrate
from spark.db.executor import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Permission, Tier
from spark.security.apikeys import create_key
from spark.security.sealing import new_key
from tests.support.databases import fresh_database
from tests.support.nats import purge_stream
from tests.support.s3 import CREDENTIALS, MotoServer, stop_suite_s3, suite_s3
from tests.support.services import SuiteStack, stop_suite_stack, suite_stack
from tests.support.workers import ConsumerProcess, WorkerProcess

# Tests build their own settings: nothing from the developer's shell may leak in.
for _name in [n for n in os.environ if n.startswith("SPARK_")]:
    del os.environ[_name]

TABLES = (
    "job_outbox",
    "jobs",
    "api_keys",
    "spark_events",
    "spark_sessions",
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
    "spark_function_calls",
    "rollup_calls_hourly",
)


@pytest.fixture(scope="session")
def servers() -> Iterator[SuiteStack]:
    """This session's Postgres, Redis and NATS, started from the wheels on free ports."""
    yield suite_stack()
    stop_suite_stack()


@pytest.fixture(scope="session")
def pg_url(servers: SuiteStack) -> Iterator[str]:
    """A Postgres database made for this run and migrated to head; dropped afterwards."""
    with fresh_database("spark_test") as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def broker_url(servers: SuiteStack) -> str:
    """The Celery broker: Redis database 0 of the suite's server (new with the session)."""
    assert servers.urls.broker_url is not None
    return servers.urls.broker_url


@pytest.fixture(scope="session")
def redis_url(servers: SuiteStack) -> str:
    """SPARK's own Redis keys (limits, breakers, caches, leases): database 1 of the suite's
    server, apart from the broker's queues; emptied after every test that uses `db`."""
    return servers.redis_url(1)


@pytest.fixture
def spark_redis(redis_url: str) -> Iterator[str]:
    """SPARK's own Redis database for a test that uses it without `db`, emptied after it."""
    yield redis_url
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()


@pytest.fixture(scope="session")
def stack_settings(
    pg_url: str,
    broker_url: str,
    redis_url: str,
    servers: SuiteStack,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    """Settings for the production topology on the suite's servers."""
    var = tmp_path_factory.mktemp("var")
    return Settings(
        database_url=pg_url,
        broker_url=broker_url,
        redis_url=redis_url,
        nats_url=servers.nats_url,
        var_dir=var,
        # Local storage under the session's own folder; a test that wants S3 asks for it
        # (tests/support/s3.py).
        storage_url=str(var / "storage"),
        heartbeat_interval_s=0.5,
        lease_s=3.0,
        relay_min_age_s=1.0,
        relay_interval_s=1.0,
        reaper_interval_s=1.0,
        # a batch the consumer could not store (the database restarting) comes back soon
        consumer_ack_wait_s=5.0,
        # Tests register projects anywhere ("/srv/unity/coins", their tmp_path); the tests of
        # SPARK_SOURCE_ROOTS itself set their own.
        source_roots=[Path("/")],
        # Every webhook receiver a test runs is on 127.0.0.1.
        allow_private_destinations=True,
        # Project secrets can be stored, as in any deployment with SPARK_SECRETS_KEY set.
        secrets_key=SecretStr(new_key()),
    )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoServer]:
    """The session's S3-compatible server (moto), started on first use; its test credentials
    are in the environment of the tests and of the SPARK processes they start while it runs,
    never the machine's own."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in CREDENTIALS.items():
            env.setenv(name, value)
        yield suite_s3()
    stop_suite_s3()


@pytest.fixture
def s3_settings(settings: Settings, s3_server: MotoServer) -> Settings:
    """settings with storage on the S3 server, under a prefix of the test's own."""
    prefix = uuid.uuid4().hex[:12]
    return settings.model_copy(
        update={"storage_url": f"s3://spark-test/{prefix}", "s3_endpoint_url": s3_server.url}
    )


@pytest.fixture(scope="session")
def event_consumer(
    stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsumerProcess]:
    """`spark consumer` for the whole session: events reach spark_events only through it."""
    proc = ConsumerProcess(stack_settings, Path(tmp_path_factory.mktemp("consumer")))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def settings(stack_settings: Settings, event_consumer: ConsumerProcess) -> Settings:
    """Settings for the suite's servers, with the event consumer running."""
    return stack_settings


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The test database; emptied after each test, with SPARK's Redis keys and the events
    stream, so no limit, breaker, lease or message outlives its test."""
    database = Database(settings.require("database_url"))
    yield database
    with database.transaction() as tx:
        tx.run(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    database.close()
    with redis.Redis.from_url(settings.require("redis_url")) as client:
        client.flushdb()
    purge_stream(settings.require("nats_url"))


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
