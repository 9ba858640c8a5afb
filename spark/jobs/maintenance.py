"""Periodic upkeep: the outbox relay and the reaper of jobs whose worker died."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from spark.db import jobs as job_queries
from spark.db import outbox as outbox_queries
from spark.db.engine import Database
from spark.db.types import utcnow
from spark.domain.jobs import JobState
from spark.events.sink import EventSink
from spark.jobs.dispatch import Dispatcher
from spark.jobs.ending import TIME_LIMIT, Ending, Held, end_job, worker_lost_error
from spark.kinds import REGISTRY, spec_of

log = logging.getLogger(__name__)

_RESEND_AFTER = {
    kind: timedelta(seconds=spec.limits.redispatch_after_s) for kind, spec in REGISTRY.items()
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


def reap(db: Database, events: EventSink, policy: ReapPolicy, batch: int = 200) -> int:
    """End running jobs whose worker stopped beating; returns how many were ended."""
    now = utcnow()
    with db.session() as s:
        stale = job_queries.stale_running(s, now - timedelta(seconds=policy.lease_s), batch)
    ended = 0
    for job in stale:
        limit = timedelta(seconds=spec_of(job.kind).limits.hard_s)
        if job.started_at is not None and now - job.started_at > limit:
            ending = Ending(JobState.TIMED_OUT, error=TIME_LIMIT)
        else:
            ending = Ending(JobState.FAILED, error=worker_lost_error(job.attempts))
        # Fenced by the attempt read: a job that beat or moved on since is left alone.
        if end_job(db, events, job.id, Held(job.attempts), ending) is not None:
            ended += 1
            log.warning("reaped job %s (%s): %s", job.id, job.worker, ending.error)
    return ended
