"""Integration fixtures: a real Celery producer on the Redis broker."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from spark.broker.app import create_celery
from spark.broker.dispatch import CeleryDispatcher
from spark.config import Settings
from spark.db.executor import Database
from spark.events.factory import make_sink
from spark.events.sink import EventSink
from tests.support.replica import StreamingReplica
from tests.support.services import listening


@pytest.fixture
def sink(settings: Settings, db: Database) -> Iterator[EventSink]:
    """The process's event sink: JetStream, stored in spark_events by the session's consumer."""
    events = make_sink(settings, db)
    yield events
    events.close()


@pytest.fixture
def dispatcher(settings: Settings) -> CeleryDispatcher:
    """Sends to the test broker; its queues are emptied first."""
    redis.Redis.from_url(settings.require("broker_url")).flushdb()
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
    client = redis.Redis.from_url(settings.require("broker_url"))
    keys = [k for k in client.keys(f"{queue}*") if client.type(k) == b"list"]
    return sum(int(client.llen(k)) for k in keys)


@pytest.fixture(scope="module")
def streaming_replica() -> Iterator[StreamingReplica]:
    """A throwaway primary, migrated, with a hot standby streaming from it (one per module)."""
    # not tmp_path: the servers run as the postgres user, who cannot enter root's pytest dirs
    work = Path(tempfile.mkdtemp(prefix="spark-replica-"))
    cluster = StreamingReplica(work)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def replica(streaming_replica: StreamingReplica) -> StreamingReplica:
    """The streaming replica, running and caught up, whatever the previous test did to it."""
    if not listening(streaming_replica.standby_port):
        streaming_replica.start_standby()
    streaming_replica.resume_replay()
    streaming_replica.wait_caught_up()
    return streaming_replica
