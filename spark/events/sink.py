"""The event port, and the last resort for an event nothing else would take.

Most events are handed over and sent soon (`publish`). A job's terminal event is different:
it is written to the event outbox in the transaction that ends the job (`stage`, or
`take_staged` when the end is one statement), so a process killed after that commit cannot
lose it, and only then sent on (`committed`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from spark import metrics
from spark.db import events as event_queries
from spark.db.engine import Database
from spark.domain.events import Event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Staged:
    """The outbox rows a job's end writes in its own statement."""

    terminal: Event

    @property
    def rows(self) -> tuple[Event, ...]:
        """Every event the statement writes, in the order they happened."""
        return (self.terminal,)


class EventSink(Protocol):
    """Where a process sends its events."""

    def publish(self, event: Event) -> None:
        """Hand the event over; never blocks a job for long."""
        ...

    def stage(self, s: Session, event: Event) -> None:
        """Make the event durable in the caller's transaction (it commits with the caller)."""
        ...

    def take_staged(self, terminal: Event) -> Staged:
        """The rows a one-statement end writes with terminal; they are the end's to write now."""
        ...

    def unstaged(self, staged: Staged) -> None:
        """The end that took staged did not happen: whatever it carried is this sink's again."""
        ...

    def committed(self, events: Sequence[Event]) -> None:
        """Send on staged events whose transaction committed; never blocks for long."""
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
