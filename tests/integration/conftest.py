"""Integration fixtures: a real Celery producer on the Redis broker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from spark.config import Settings
from spark.db.engine import Database
from spark.events.sink import StoreSink
from spark.jobs.dispatch import CeleryDispatcher
from spark.taskqueue import create_celery


@pytest.fixture
def sink(db: Database) -> Iterator[StoreSink]:
    """Events stored straight into spark_events, as the embedded default does."""
    events = StoreSink(db)
    yield events
    events.close()


@pytest.fixture
def dispatcher(settings: Settings) -> CeleryDispatcher:
    """Sends to the test broker; its queues are emptied first."""
    redis.Redis.from_url(settings.resolved_broker_url).flushdb()
    return CeleryDispatcher(create_celery(settings))


@pytest.fixture
def dead_dispatcher(settings: Settings) -> CeleryDispatcher:
    """A producer whose broker is down (nothing listens on port 1)."""
    broken = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    app: Any = create_celery(broken)
    app.conf.task_publish_retry_policy = {"max_retries": 1, "interval_start": 0}
    return CeleryDispatcher(app)


def queued_messages(settings: Settings, queue: str = "generation") -> int:
    """How many messages wait in queue on the broker, across its priority lists."""
    client = redis.Redis.from_url(settings.resolved_broker_url)
    keys = [k for k in client.keys(f"{queue}*") if client.type(k) == b"list"]
    return sum(int(client.llen(k)) for k in keys)
