"""The event port, and its embedded adapter: events go straight into spark_events."""

from __future__ import annotations

import logging
from typing import Protocol

from spark import metrics
from spark.db import events as event_queries
from spark.db.engine import Database
from spark.events.envelope import Event

log = logging.getLogger(__name__)


class EventSink(Protocol):
    """Where a process sends its events."""

    def publish(self, event: Event) -> None:
        """Hand the event over; never blocks a job for long."""
        ...

    def flush(self, timeout_s: float = 2.0) -> bool:
        """Wait until every event handed over is delivered or safely stored."""
        ...

    def close(self) -> None:
        """Flush and release connections."""
        ...


def dead_letter(db: Database, event: Event, reason: str) -> None:
    """The last resort for an event: the dead-letter table, and always a counted, logged line."""
    metrics.events_dead_lettered()
    log.error("event %s dead-lettered (%s): %s", event.id, reason, event.encode().decode())
    try:
        event_queries.add_dead_letter(db, event.subject, event.encode().decode(), reason)
    except Exception:
        log.error("dead-letter table unavailable for event %s", event.id, exc_info=True)


class StoreSink:
    """Embedded default (no NATS): each event is stored in spark_events as it happens."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def publish(self, event: Event) -> None:
        try:
            event_queries.store_events(self._db, [event])
        except Exception as exc:
            dead_letter(self._db, event, f"could not store: {exc}")
            return
        metrics.events_published()

    def flush(self, timeout_s: float = 2.0) -> bool:
        return True

    def close(self) -> None:
        return None
