"""Sending accepted jobs' messages from one background thread, off the request path.

The request that accepted a job has already committed the job with its outbox row, so it
answers without waiting for the broker. One thread publishes every message (no thread-pool
hop per request, no threads contending for the broker's connection) and hands the sent ids
to SentMarks. A message that fails (broker away) or never leaves (the process dies first)
keeps its outbox row unsent: the relay sends it, as it would after a failed inline send.
"""

from __future__ import annotations

import logging

from spark.batching import Batcher
from spark.domain.jobs import Job
from spark.jobs.dispatch import CeleryDispatcher
from spark.jobs.outbox import SentMarks

log = logging.getLogger(__name__)

#: the longest a message waits when the thread was idle (it is woken by every add)
IDLE_WAKE_S = 0.5


class Sender:
    """Publishes jobs' messages in the order they were accepted, as soon as it can."""

    def __init__(self, dispatcher: CeleryDispatcher, marks: SentMarks) -> None:
        self._dispatcher = dispatcher
        self._marks = marks
        self._batcher: Batcher[Job] = Batcher(self._send, IDLE_WAKE_S, "spark-sender", eager=True)

    def add(self, job: Job) -> None:
        """Send job's message soon."""
        self._batcher.add(job)

    def flush(self) -> None:
        """Send every pending message now."""
        self._batcher.flush()

    def close(self) -> None:
        """Send what is pending and stop the thread."""
        self._batcher.close()

    def _send(self, jobs: list[Job]) -> None:
        for job in jobs:
            try:
                self._dispatcher.send(job.id, job.kind, job.priority)
            except Exception:
                log.warning(
                    "dispatch of job %s failed; the relay will retry", job.id, exc_info=True
                )
                continue
            self._marks.add(job.id)
