"""Heartbeats: a background thread tells the database this process still runs its jobs."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from spark.db.executor import Database
from spark.db.running import touch_heartbeats

log = logging.getLogger(__name__)


class Heartbeats:
    """Refreshes heartbeat_at of tracked jobs every interval, so the reaper spares them."""

    def __init__(self, db: Database, interval_s: float) -> None:
        self._db = db
        self._interval = interval_s
        self._running: dict[uuid.UUID, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the beating thread (once per process, after fork)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="spark-heartbeat", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop beating."""
        self._stop.set()

    @contextmanager
    def tracking(self, job_id: uuid.UUID, attempt: int) -> Iterator[None]:
        """Beat for (job, attempt) while the block runs."""
        with self._lock:
            self._running[job_id] = attempt
        try:
            yield
        finally:
            with self._lock:
                self._running.pop(job_id, None)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                running = list(self._running.items())
            if not running:
                continue
            try:
                # one statement for all of them, whatever their number
                touch_heartbeats(self._db, running)
            except Exception:
                # A missed beat is harmless unless the database stays away for a whole lease.
                log.warning("heartbeat failed", exc_info=True)
