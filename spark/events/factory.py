"""Choosing the event adapter: NATS when configured, the database otherwise."""

from __future__ import annotations

from spark.config import Settings
from spark.db.engine import Database
from spark.events.sink import EventSink, StoreSink


def make_sink(settings: Settings, db: Database) -> EventSink:
    """The event sink for this process (call after fork: it may open a NATS connection)."""
    if settings.nats_url:
        from spark.events.publisher import NatsPublisher

        return NatsPublisher(settings.nats_url, db)
    return StoreSink(db)
