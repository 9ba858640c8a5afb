"""The event port, and its embedded adapter: events go straight into spark_events."""

from __future__ import annotations

import logging
import threading
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
    """Without NATS: events go straight into spark_events, a batch at a time.

    Events wait at most `interval_s` (so live streams stay live) and a task's flush writes
    them before its message is acknowledged; a job's events usually share one transaction.
    """

    def __init__(self, db: Database, interval_s: float = 0.2) -> None:
        self._db, self._interval = db, interval_s
        self._pending: list[Event] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(self, event: Event) -> None:
        with self._lock:
            self._pending.append(event)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="spark-event-store", daemon=True
                )
                self._thread.start()

    def flush(self, timeout_s: float = 2.0) -> bool:
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            self._store(batch)
        return True

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(5)
        self.flush()

    def _run(self) -> None:
        while not self._closed.wait(self._interval):
            self.flush()

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
