"""The event port, and its embedded adapter: events go straight into spark_events.

Most events are handed over and sent soon (`publish`). A job's terminal event is different:
it is written in the transaction that ends the job (`stage`, or `take_staged` when the end is
one statement), so a process killed after that commit cannot lose it, and only then sent on
(`committed`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from spark import metrics
from spark.batching import Batcher
from spark.db import events as event_queries
from spark.db.engine import Database
from spark.db.running import EventTable
from spark.domain.events import Event

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Staged:
    """The event rows a job's end writes in its own statement, and the table they go to."""

    table: EventTable
    terminal: Event
    #: the job's earlier events this sink still held (written with the end, not on their own)
    carried: tuple[Event, ...] = ()

    @property
    def rows(self) -> tuple[Event, ...]:
        """Every event the statement writes, in the order they happened."""
        return (*self.carried, self.terminal)


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


class StoreSink:
    """Without NATS: events go straight into spark_events, a batch at a time.

    Events wait at most `interval_s` (so live streams stay live) and a task's flush writes
    them before its message is acknowledged; a job's events usually share one transaction.
    """

    def __init__(self, db: Database, interval_s: float = 0.2) -> None:
        self._db = db
        self._batcher: Batcher[Event] = Batcher(self._store, interval_s, "spark-event-store")

    def publish(self, event: Event) -> None:
        self._batcher.add(event)

    def stage(self, s: Session, event: Event) -> None:
        # Without NATS the store is the destination: staging is delivery.
        event_queries.add_events(s, [event])

    def take_staged(self, terminal: Event) -> Staged:
        # A fast job's started event is usually still waiting here: it goes with the end
        # rather than in a transaction of its own.
        job_id = terminal.job_id
        carried = self._batcher.take(lambda e: e.job_id == job_id)
        return Staged(EventTable.EVENTS, terminal, tuple(carried))

    def unstaged(self, staged: Staged) -> None:
        for event in staged.carried:
            self._batcher.add(event)

    def committed(self, events: Sequence[Event]) -> None:
        metrics.events_published(len(events))

    def flush(self, timeout_s: float = 2.0) -> bool:
        self._batcher.flush()
        return True

    def close(self) -> None:
        self._batcher.close()

    def _store(self, batch: list[Event]) -> None:
        if not batch:
            return
        try:
            event_queries.store_events(self._db, batch)
        except Exception as exc:
            for event in batch:
                dead_letter(self._db, event, f"could not store: {exc}")
            return
        metrics.events_published(len(batch))
