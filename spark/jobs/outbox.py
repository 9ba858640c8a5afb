"""Recording that outbox rows were sent, in batches off the request path."""

from __future__ import annotations

import logging
import threading
import uuid

from spark.db import outbox as outbox_queries
from spark.db.engine import Database
from spark.db.types import utcnow

log = logging.getLogger(__name__)


class SentMarks:
    """Collects sent job ids and marks their outbox rows in one UPDATE per interval.

    A mark lost to a crash only means the relay sends that job once more after
    `relay_min_age_s`, and the idempotent claim makes the extra message harmless.
    """

    def __init__(self, db: Database, interval_s: float = 0.1) -> None:
        self._db = db
        self._interval = interval_s
        self._pending: list[uuid.UUID] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, job_id: uuid.UUID) -> None:
        """Mark job_id's outbox row as sent, soon."""
        with self._lock:
            self._pending.append(job_id)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="spark-sent-marks", daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        """Write every pending mark now."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            with self._db.session() as s:
                outbox_queries.mark_sent(s, batch, utcnow())
        except Exception:
            log.warning(
                "could not mark %d outbox rows sent; the relay may resend them",
                len(batch),
                exc_info=True,
            )

    def close(self) -> None:
        """Flush and stop the background thread."""
        self._closed.set()
        if self._thread is not None:
            self._thread.join(5)
        self.flush()

    def _run(self) -> None:
        while not self._closed.wait(self._interval):
            self.flush()
