"""Periodic upkeep: the outbox relay, the rescue of messages a dead worker took with it, and
the reaper of jobs whose worker died."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from spark import metrics
from spark.broker.dispatch import Dispatcher
from spark.db import jobs as job_queries
from spark.db import outbox as outbox_queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.jobs import Job, JobState
from spark.events.sink import EventSink
from spark.jobs.ending import TIME_LIMIT, Ending, Held, end_job, worker_lost_error
from spark.kinds import REGISTRY, spec_of

log = logging.getLogger(__name__)

_RESEND_AFTER = {
    kind: timedelta(seconds=spec.limits.redispatch_after_s) for kind, spec in REGISTRY.items()
}


@dataclass(frozen=True)
class ReapPolicy:
    """When a running job counts as abandoned, and how many attempts a job may have."""

    lease_s: float
    #: SPARK_MAX_ATTEMPTS; a kind's own retry policy may say otherwise
    max_attempts: int = 3


def relay(db: Database, dispatcher: Dispatcher, min_age_s: float, batch: int = 200) -> int:
    """Send outbox rows left unsent (or sent but never claimed); returns how many were sent."""
    now = utcnow()
    emptied = _broker_emptied(dispatcher)
    with db.transaction() as tx:
        outbox_queries.prune_outbox(tx)
        if emptied:
            lost = outbox_queries.mark_unsent(tx)
            metrics.messages_resent("broker_emptied", lost)
            log.warning("the broker lost its messages: %d queued job(s) will be sent again", lost)
        due = outbox_queries.due_dispatches(
            tx, now, timedelta(seconds=min_age_s), _RESEND_AFTER, batch
        )
        sent = []
        for item in due:
            try:
                dispatcher.send(item.job_id, item.kind, item.priority, item.queue)
            except Exception:
                log.warning("relay could not send job %s; will retry", item.job_id, exc_info=True)
                break
            sent.append(item.job_id)
        outbox_queries.mark_sent(tx, sent, utcnow())
    if sent:
        log.info("relay sent %d job(s)", len(sent))
    return len(sent)


def _broker_emptied(dispatcher: Dispatcher) -> bool:
    try:
        return dispatcher.broker_emptied()
    except Exception:
        log.warning("could not ask the broker whether it lost its messages", exc_info=True)
        return False


def rescue(db: Database, dispatcher: Dispatcher, older_than_s: float, batch: int = 500) -> int:
    """Send again the queued jobs whose message a consumer took at least older_than_s ago and
    no live worker holds (its worker died with it prefetched); returns how many.

    Without this such a message would wait for the broker's visibility timeout (hours, since
    it must outlast the longest task). A live worker too slow to answer only costs a
    duplicate message, which the claim makes harmless.
    """
    deliveries = dispatcher.deliveries(older_than_s, batch)
    if not deliveries:
        return 0
    held = dispatcher.held([d.job_id for d in deliveries])
    orphans = [d for d in deliveries if d.job_id not in held]
    if not orphans:
        return 0
    with db.transaction() as tx:
        states = job_queries.states_of(tx, [d.job_id for d in orphans])
        queued = [d.job_id for d in orphans if states.get(d.job_id) is JobState.QUEUED]
        lost = outbox_queries.mark_unsent(tx, queued)
    # A running job's delivery is the reaper's to judge by its lease; a job unknown here may
    # belong to another deployment on this broker.
    spent = [d for d in orphans if d.job_id in queued or _ended(states.get(d.job_id))]
    dispatcher.forget(spent)
    if lost:
        metrics.messages_resent("stranded", lost)
        log.warning("%d job message(s) taken by a worker that is gone: sending them again", lost)
    return lost


def _ended(state: JobState | None) -> bool:
    return state is not None and state.terminal


def reap(db: Database, events: EventSink, policy: ReapPolicy, batch: int = 200) -> int:
    """Act on running jobs whose worker stopped beating: end those past their time limit or
    out of attempts, send the others again; returns how many were acted on."""
    now = utcnow()
    stale = job_queries.stale_running(db, now - timedelta(seconds=policy.lease_s), batch)
    return sum(1 for job in stale if _reap_one(db, events, policy, job, now))


def _reap_one(db: Database, events: EventSink, policy: ReapPolicy, job: Job, now: datetime) -> bool:
    spec = spec_of(job.kind)
    if job.started_at is not None and now - job.started_at > timedelta(seconds=spec.limits.hard_s):
        ending = Ending(JobState.TIMED_OUT, error=TIME_LIMIT)
    elif job.attempts >= (spec.retry.max_attempts or policy.max_attempts):
        ending = Ending(JobState.FAILED, error=worker_lost_error(job.attempts))
    else:
        # Attempts remain: the job goes back to the queue for the relay to send at once (its
        # old message may only come back after the broker's visibility timeout).
        with db.transaction() as tx:
            message = "waiting: its worker stopped; running it again"
            queue = spec.queue_for(job.params)
            back = job_queries.requeue(
                tx, job.id, job.attempts, message, now, message_sent=False, queue=queue
            )
        if back is not None:
            log.warning("job %s (%s) requeued after attempt %d", job.id, job.worker, job.attempts)
        return back is not None
    # Fenced by the attempt read: a job that beat or moved on since is left alone.
    if end_job(db, events, job, Held(job.attempts), ending) is None:
        return False
    log.warning("reaped job %s (%s): %s", job.id, job.worker, ending.error)
    return True
