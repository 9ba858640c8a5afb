"""Periodic upkeep: the outbox relay and the reaper of jobs whose worker died."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from spark import metrics
from spark.db import jobs as job_queries
from spark.db import outbox as outbox_queries
from spark.db.engine import Database
from spark.db.types import utcnow
from spark.domain.jobs import KIND_SPECS, Job, JobError, JobState
from spark.events.envelope import outcome_event
from spark.events.sink import EventSink
from spark.jobs.dispatch import Dispatcher
from spark.jobs.lifecycle import worker_lost_error

log = logging.getLogger(__name__)

_RESEND_AFTER = {
    kind: timedelta(seconds=spec.redispatch_after_s) for kind, spec in KIND_SPECS.items()
}


@dataclass(frozen=True)
class ReapPolicy:
    """When a running job counts as abandoned."""

    lease_s: float


def relay(db: Database, dispatcher: Dispatcher, min_age_s: float, batch: int = 200) -> int:
    """Send outbox rows left unsent (or sent but never claimed); returns how many were sent."""
    now = utcnow()
    with db.session() as s:
        outbox_queries.prune_outbox(s)
        due = outbox_queries.due_dispatches(
            s, now, timedelta(seconds=min_age_s), _RESEND_AFTER, batch
        )
        sent = []
        for item in due:
            try:
                dispatcher.send(item.job_id, item.kind, item.priority)
            except Exception:
                log.warning("relay could not send job %s; will retry", item.job_id, exc_info=True)
                break
            sent.append(item.job_id)
        outbox_queries.mark_sent(s, sent, utcnow())
    if sent:
        log.info("relay sent %d job(s)", len(sent))
    return len(sent)


def reap(
    db: Database, policy: ReapPolicy, batch: int = 200, events: EventSink | None = None
) -> int:
    """Fail running jobs whose worker stopped beating; returns how many were ended."""
    now = utcnow()
    ended: list[Job] = []
    with db.session() as s:
        for job in job_queries.stale_running(s, now - timedelta(seconds=policy.lease_s), batch):
            limit = timedelta(seconds=KIND_SPECS[job.kind].hard_time_limit_s)
            if job.started_at is not None and now - job.started_at > limit:
                state = JobState.TIMED_OUT
                error = JobError("time_limit_exceeded", "the job ran past its time limit")
            else:
                state, error = JobState.FAILED, worker_lost_error(job.attempts)
            done = job_queries.finish_job(s, job.id, job.attempts, state, now, error=error)
            if done is not None:
                ended.append(done)
                log.warning("reaped job %s (%s): %s", job.id, job.worker, error.code)
    for job in ended:
        metrics.job_finished(job)
        if events is not None:
            events.publish(outcome_event(job))
    return len(ended)
