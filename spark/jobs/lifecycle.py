"""Claim, progress, requeue and cancel: a job's state changes short of its end (that one is
`spark/jobs/ending.py`'s, which these call when a cancel or a takeover ends the job)."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta

from spark.db import children as child_queries
from spark.db import jobs as job_queries
from spark.db import running
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.jobs import Claim, Job, JobState, Progress
from spark.errors import JobNotCancelable, NotFound
from spark.events.sink import EventSink
from spark.jobs.ending import CANCELED, Ending, Held, Queued, end_job, worker_lost_error
from spark.kinds import queue_of

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
    events: EventSink,
    job_id: uuid.UUID,
    worker: str,
    *,
    lease_s: float,
    max_attempts: int,
) -> Claim | None:
    """Take the job for this worker; None if it is not ours to run (duplicate message)."""
    job = running.claim(db, job_id, worker, utcnow())
    if job is not None:
        return Claim(job, job.attempts, worker)
    return _take_over(db, events, job_id, worker, lease_s, max_attempts)


def _take_over(
    db: Database,
    events: EventSink,
    job_id: uuid.UUID,
    worker: str,
    lease_s: float,
    max_attempts: int,
) -> Claim | None:
    """A redelivered message for a running job: take it over only if its holder is gone."""
    now = utcnow()
    current = job_queries.get_job(db, job_id)
    if current is None or current.state is not JobState.RUNNING:
        return None
    if current.waiting_on is not None:
        # It waits for a child job: its own run is over, and its children continue it.
        return None
    beat = current.heartbeat_at
    stale = beat is None or beat < now - timedelta(seconds=lease_s)
    if not (stale or _claimant_is_dead(current.worker)):
        return None
    if current.attempts >= max_attempts:
        # Every attempt died with its worker: the job ends here instead of running again.
        lost = Ending(JobState.FAILED, error=worker_lost_error(current.attempts))
        end_job(db, events, current, Held(current.attempts), lost)
        return None
    taken = job_queries.take_over(db, current, worker, now)
    if taken is None:
        return None
    log.warning("job %s taken over by %s (attempt %d)", job_id, worker, taken.attempts)
    return Claim(taken, taken.attempts, worker)


def report_progress(db: Database, held: Claim, percent: int, message: str) -> None:
    """Store progress; raises JobCanceled if the owner canceled, JobLost if we lost the job."""
    progress = Progress(max(0, min(100, percent)), message[:500])
    flag = running.record_progress(db, held.job.id, held.attempt, progress, utcnow())
    if flag is None:
        raise JobLost(str(held.job.id))
    if flag:
        raise JobCanceled(str(held.job.id))


def requeue(db: Database, held: Claim, message: str) -> Job | None:
    """Give the job back to the queue (its dependency is failing); None if no longer held."""
    queue = queue_of(held.job.kind, held.job.params)
    return job_queries.requeue(db, held.job.id, held.attempt, message[:500], utcnow(), queue=queue)


def cancel(db: Database, events: EventSink, owner: str, job_id: uuid.UUID) -> Job:
    """Cancel a queued job at once, or ask a running one to stop at its next checkpoint."""
    ending = Ending(JobState.CANCELED, error=CANCELED)
    for _ in range(3):
        current = job_queries.get_job(db, job_id, owner)
        if current is None:
            raise NotFound("no such job")
        if current.state.terminal:
            raise JobNotCancelable(f"the job already ended {current.state.value}")
        if current.state is JobState.QUEUED:
            ended = end_job(db, events, current, Queued(owner), ending)
        else:
            ended = job_queries.request_cancel(db, job_id, owner)
        if ended is not None:
            _cancel_children(db, events, owner, job_id)
            return ended
        # It moved between the read and the update (claimed, or given back): try again.
    raise JobNotCancelable("the job is changing state; try again")


def _cancel_children(db: Database, events: EventSink, owner: str, job_id: uuid.UUID) -> None:
    """Cancel the job's open children (its verify steps); the flag set on the job first
    keeps it from starting another (spark/jobs/children.py)."""
    for child_id in child_queries.open_children(db, job_id, owner):
        try:
            cancel(db, events, owner, child_id)
        except (JobNotCancelable, NotFound):
            continue  # it ended meanwhile
