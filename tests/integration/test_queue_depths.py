"""The broker's queue depths, as the relay reads them for spark_broker_queue_depth: every
message waiting in a queue, whatever its priority list, and nothing of another queue."""

from __future__ import annotations

import uuid

import redis

from spark.broker.dispatch import CeleryDispatcher
from spark.config import Settings
from spark.domain.jobs import JobKind


def test_a_queues_depth_counts_its_messages_over_every_priority(
    settings: Settings, dispatcher: CeleryDispatcher
) -> None:
    """Five generation messages at three priorities and two patches: 5 and 2, builds 0."""
    try:
        for priority in (0, 0, 5, 9, 9):
            dispatcher.send(uuid.uuid4(), JobKind.GENERATE_SCRIPT, priority)
        for _ in range(2):
            dispatcher.send(uuid.uuid4(), JobKind.APPLY_PATCH, 3)
        depths = dispatcher.queue_depths(["generation", "patches", "builds.WebGL"])
        assert depths == {"generation": 5, "patches": 2, "builds.WebGL": 0}
    finally:
        # messages of no job: no later test's worker should take them
        redis.Redis.from_url(settings.require("broker_url")).flushdb()
