"""The event port, and the last resort for an event nothing else would take.

Most events are handed over and sent soon (`publish`). A job's terminal event is different:
it is written to the event outbox by the statement that ends the job (spark/db/running.py),
so a process killed after that commit cannot lose it, and only then sent on (`committed`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from spark import metrics
from spark.db import events as event_queries
from spark.db.executor import Database
from spark.domain.events import Event

log = logging.getLogger(__name__)


class EventSink(Protocol):
    """Where a process sends its events."""

    def publish(self, event: Event) -> None:
        """Hand the event over; never blocks a job for long."""
        ...

    def committed(self, events: Sequence[Event]) -> None:
        """Send on the events a committed end put in the outbox; never blocks for long."""
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
