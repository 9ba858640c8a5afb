"""Recording that outbox rows were sent, in batches off the request path."""

from __future__ import annotations

import logging
import uuid

from spark.batching import Batcher
from spark.db import outbox as outbox_queries
from spark.db.executor import Database
from spark.db.types import utcnow

log = logging.getLogger(__name__)


class SentMarks:
    """Collects sent job ids and marks their outbox rows in one UPDATE per interval.

    A mark lost to a crash only means the relay sends that job once more after
    `relay_min_age_s`, and the idempotent claim makes the extra message harmless.
    """

    def __init__(self, db: Database, interval_s: float = 0.1) -> None:
        self._db = db
        self._batcher: Batcher[uuid.UUID] = Batcher(self._mark, interval_s, "spark-sent-marks")

    def add(self, job_id: uuid.UUID) -> None:
        """Mark job_id's outbox row as sent, soon."""
        self._batcher.add(job_id)

    def flush(self) -> None:
        """Write every pending mark now."""
        self._batcher.flush()

    def close(self) -> None:
        """Flush and stop the background thread."""
        self._batcher.close()

    def _mark(self, batch: list[uuid.UUID]) -> None:
        try:
            outbox_queries.mark_sent(self._db, batch, utcnow())
        except Exception:
            log.warning(
                "could not mark %d outbox rows sent; the relay may resend them",
                len(batch),
                exc_info=True,
            )
