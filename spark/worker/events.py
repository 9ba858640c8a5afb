"""Task signals that send a job's terminal event (job state itself is the lifecycle's)."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import task_postrun

from spark.domain.jobs import Job, JobKind
from spark.events.envelope import outcome_event
from spark.worker.state import resources

log = logging.getLogger(__name__)

#: the maintenance task that delivers due build webhooks
WEBHOOKS_TASK = "spark.maintenance.webhooks"
#: how long a task may wait for its events to be acknowledged (or stored) before it acks
FLUSH_TIMEOUT_S = 2.0


def _job_finished(sender: Any = None, retval: Any = None, **_: Any) -> None:
    # Runs in the pool process, before the message is acknowledged: flushing here means a
    # job's events are in NATS (or the outbox) before its message leaves the broker.
    if not isinstance(retval, Job) or not retval.state.terminal:
        return
    sink = resources().events
    sink.publish(outcome_event(retval))
    if not sink.flush(FLUSH_TIMEOUT_S):
        log.warning("events of job %s not yet acknowledged after %.0fs", retval.id, FLUSH_TIMEOUT_S)
    if retval.kind is JobKind.UNITY_BUILD and retval.project_id is not None and sender:
        # Deliver the build's webhooks now rather than at the next scheduled scan.
        try:
            sender.app.send_task(WEBHOOKS_TASK)
        except Exception:
            log.warning("could not ask for webhook delivery; the schedule will", exc_info=True)


def connect_event_signals() -> None:
    """Connect the handlers (idempotent: Celery dedupes by dispatch uid)."""
    task_postrun.connect(_job_finished, weak=False, dispatch_uid="spark-job-events")
