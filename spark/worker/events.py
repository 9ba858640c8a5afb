"""The task signal that flushes a job's events before its message is acknowledged.

Job state and the terminal event are the job's end (spark/jobs/ending.py); what only a
signal can do is run in the pool process after the task body and before the ack.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import task_postrun

from spark.worker.state import resources

log = logging.getLogger(__name__)

#: how long a task may wait for its events to be acknowledged (or stored) before it acks
FLUSH_TIMEOUT_S = 2.0


def _flush_events(retval: Any = None, **_: Any) -> None:
    # Flushing here means a job's started and progress events are in NATS (or the store)
    # before its message leaves the broker. A job task returns its terminal state's name (or
    # None when the message did nothing), not the Job (spark/worker/tasks.py).
    if not isinstance(retval, str):
        return
    if not resources().events.flush(FLUSH_TIMEOUT_S):
        log.warning("events of a %s job not yet acknowledged after %.0fs", retval, FLUSH_TIMEOUT_S)


def connect_event_signals() -> None:
    """Connect the handler (idempotent: Celery dedupes by dispatch uid)."""
    task_postrun.connect(_flush_events, weak=False, dispatch_uid="spark-job-events")
