"""Claim, progress, finish and cancel: every state change a job goes through."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from spark import metrics
from spark.db import jobs as job_queries
from spark.db.engine import Database
from spark.db.types import utcnow
from spark.domain.jobs import Claim, Job, JobError, JobState, Progress
from spark.errors import JobNotCancelable, NotFound
from spark.events.envelope import outcome_event
from spark.events.sink import EventSink

log = logging.getLogger(__name__)


class JobCanceled(Exception):
    """The job's owner canceled it; the handler stops at this checkpoint."""


class JobLost(Exception):
    """This attempt no longer holds the job (reaped, or taken over); stop quietly."""


def worker_identity() -> str:
    """This process as a claimant: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _claimant_is_dead(worker: str | None) -> bool:
    """Whether the process holding a job is known dead: same host, pid gone."""
    if not worker or ":" not in worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claim(
    db: Database,
    job_id: uuid.UUID,
    worker: str,
    *,
    lease_s: float,
    max_attempts: int,
    events: EventSink | None = None,
) -> Claim | None:
    """Take the job for this worker; None if it is not ours to run (duplicate message)."""
    with db.statement() as s:
        job = job_queries.claim_queued(s, job_id, worker, utcnow())
    if job is not None:
        return Claim(job, job.attempts, worker)
    return _take_over(db, job_id, worker, lease_s, max_attempts, events)


def _take_over(
    db: Database,
    job_id: uuid.UUID,
    worker: str,
    lease_s: float,
    max_attempts: int,
    events: EventSink | None,
) -> Claim | None:
    """A redelivered message for a running job: take it over only if its holder is gone."""
    now = utcnow()
    with db.session() as s:
        current = job_queries.get_job(s, job_id)
        if current is None or current.state is not JobState.RUNNING:
            return None
        beat = current.heartbeat_at
        stale = beat is None or beat < now - timedelta(seconds=lease_s)
        if not (stale or _claimant_is_dead(current.worker)):
            return None
        if current.attempts >= max_attempts:
            lost = worker_lost_error(current.attempts)
            ended = job_queries.finish_job(
                s, job_id, current.attempts, JobState.FAILED, now, error=lost
            )
            if ended is not None:
                metrics.job_finished(ended)
                if events is not None:
                    events.publish(outcome_event(ended))
            return None
        taken = job_queries.take_over(s, current, worker, now)
    if taken is None:
        return None
    log.warning("job %s taken over by %s (attempt %d)", job_id, worker, taken.attempts)
    return Claim(taken, taken.attempts, worker)


def worker_lost_error(attempts: int) -> JobError:
    """The error a job ends with when its worker died and no other attempt may follow."""
    return JobError(
        "worker_lost",
        "the worker running this job stopped before finishing it",
        {"attempts": attempts},
    )


def report_progress(db: Database, held: Claim, percent: int, message: str) -> None:
    """Store progress; raises JobCanceled if the owner canceled, JobLost if we lost the job."""
    progress = Progress(max(0, min(100, percent)), message[:500])
    with db.statement() as s:
        flag = job_queries.record_progress(s, held.job.id, held.attempt, progress, utcnow())
    if flag is None:
        raise JobLost(str(held.job.id))
    if flag:
        raise JobCanceled(str(held.job.id))


def finish(
    db: Database,
    held: Claim,
    state: JobState,
    *,
    result: Mapping[str, Any] | None = None,
    error: JobError | None = None,
) -> Job | None:
    """Move the held job to a terminal state; None if this attempt no longer held it."""
    if not state.terminal:
        raise ValueError(f"{state} is not terminal")
    with db.statement() as s:
        return job_queries.finish_job(
            s, held.job.id, held.attempt, state, utcnow(), result=result, error=error
        )


def requeue(db: Database, held: Claim, message: str) -> Job | None:
    """Give the job back to the queue (its dependency is failing); None if no longer held."""
    with db.session() as s:
        return job_queries.requeue(s, held.job.id, held.attempt, message[:500], utcnow())


def cancel(db: Database, owner: str, job_id: uuid.UUID, events: EventSink | None = None) -> Job:
    """Cancel a queued job at once, or ask a running one to stop at its next checkpoint."""
    for _ in range(3):
        with db.session() as s:
            done = job_queries.cancel_queued(s, job_id, owner, utcnow())
            if done is None:
                done = job_queries.request_cancel(s, job_id, owner)
            current = done or job_queries.get_job(s, job_id, owner)
        if current is None:
            raise NotFound("no such job")
        if done is not None:
            if done.state.terminal:
                metrics.job_finished(done)
                if events is not None:
                    events.publish(outcome_event(done))
            return done
        if current.state.terminal:
            raise JobNotCancelable(f"the job already ended {current.state.value}")
        # It moved between our two updates (queued→running): try again.
    raise JobNotCancelable("the job is changing state; try again")
