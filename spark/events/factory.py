"""The event adapter for a process: JetStream, with the Postgres outbox behind it."""

from __future__ import annotations

from spark.config import Settings
from spark.db.executor import Database
from spark.events.publisher import NatsPublisher
from spark.events.sink import EventSink


def make_sink(settings: Settings, db: Database) -> EventSink:
    """The event sink for this process (call after fork: it opens a NATS connection)."""
    return NatsPublisher(settings.require("nats_url"), db)
