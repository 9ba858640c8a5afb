"""The one way a job ends, whoever ends it: the runner, a cancel, the reaper, a takeover.

Ending is one transaction: the terminal row (fenced, so only the attempt that holds the job,
or its owner while it is still queued, can end it), the usage charge and the terminal event
(into the event outbox, from which it is sent to NATS). When the ender knows the job as it
claimed it (the runner, every job's path), that transaction is one statement: the usage and
the event are computed beforehand from the claimed job and written only if the fenced update
ends it. A process killed at any point leaves either none of it — the job is
still running, and is taken over or reaped — or all of it; the event then reaches NATS from
the outbox relay if this process did not send it on. Metrics are counted after the commit,
by the process that ended the job.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from spark import metrics
from spark.db import jobs as job_queries
from spark.db import running
from spark.db import usage as usage_queries
from spark.db.engine import Database
from spark.db.types import utcnow
from spark.domain.events import Event
from spark.domain.jobs import Job, JobError, JobState
from spark.errors import ServiceUnavailable
from spark.events.envelope import outcome_event
from spark.events.sink import EventSink, Staged
from spark.faults import pause_point
from spark.jobs.usage import usage_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ending:
    """How a job ends: its terminal state, and what it produced or why it failed."""

    state: JobState
    result: Mapping[str, Any] | None = None
    error: JobError | None = None

    def __post_init__(self) -> None:
        if not self.state.terminal:
            raise ValueError(f"{self.state} is not terminal")


@dataclass(frozen=True)
class Held:
    """The job is running, held by this attempt (the runner, the reaper, a takeover)."""

    attempt: int


@dataclass(frozen=True)
class Queued:
    """The job is still queued and belongs to owner (a cancel before any worker took it)."""

    owner: str


Fence = Held | Queued

#: how a job ends when its owner cancels it
CANCELED = JobError("canceled", "the job was canceled")
#: how a job ends when it runs past its kind's time limit
TIME_LIMIT = JobError("time_limit_exceeded", "the job ran past its time limit")


def worker_lost_error(attempts: int) -> JobError:
    """The error a job ends with when its worker died and no other attempt may follow."""
    return JobError(
        "worker_lost",
        "the worker running this job stopped before finishing it",
        {"attempts": attempts},
    )


def end_job(
    db: Database,
    events: EventSink,
    job_id: uuid.UUID,
    fence: Fence,
    ending: Ending,
    *,
    patience_s: float = 30.0,
    claimed: Job | None = None,
) -> Job | None:
    """End the job if fence still holds; None if someone else ended it or holds it now.

    claimed is the job as the holding attempt claimed it, if the caller has it. While the
    database is away the end is tried again for up to patience_s; then ServiceUnavailable
    propagates and nothing of the ending has happened.
    """
    pause_point("end_decided")
    commit = _commit_one if claimed is not None else _commit
    try:
        ended = commit(db, events, job_id, fence, ending, claimed)
    except ServiceUnavailable:
        # Only now build the retry loop: a job's end is on every job's path.
        retrying = Retrying(
            stop=stop_after_delay(patience_s),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            retry=retry_if_exception_type(ServiceUnavailable),
            reraise=True,
        )
        ended = retrying(commit, db, events, job_id, fence, ending, claimed)
    if ended is None:
        return None
    job, written = ended
    pause_point("end_committed")
    events.committed(written)
    metrics.job_finished(job)
    return job


def _commit(
    db: Database,
    events: EventSink,
    job_id: uuid.UUID,
    fence: Fence,
    ending: Ending,
    _claimed: Job | None,
) -> tuple[Job, tuple[Event, ...]] | None:
    with db.session() as s:
        job = _write_end(s, job_id, fence, ending)
        if job is None:
            return None
        # Billing and the token quota read these; a job is charged once, when it ends.
        usage_queries.record_usage(s, usage_of(job))
        event = outcome_event(job)
        events.stage(s, event)
    return job, (event,)


def _commit_one(
    db: Database,
    events: EventSink,
    job_id: uuid.UUID,
    fence: Fence,
    ending: Ending,
    claimed: Job | None,
) -> tuple[Job, tuple[Event, ...]] | None:
    """The end as one statement; what it writes is what _commit would, from the same job."""
    assert claimed is not None and isinstance(fence, Held)
    now = utcnow()
    expected = replace(
        claimed,
        state=ending.state,
        finished_at=now,
        result=ending.result,
        error=ending.error,
        attempts=fence.attempt,
    )
    staged = events.take_staged(outcome_event(expected))
    end = running.Finish(
        job_id=job_id,
        attempt=fence.attempt,
        state=ending.state,
        now=now,
        result=ending.result,
        error=ending.error,
        usage=usage_of(expected),
        events=staged.rows,
    )
    job = _finish_or_give_back(db, events, end, staged)
    return None if job is None else (job, staged.rows)


def _finish_or_give_back(
    db: Database, events: EventSink, end: running.Finish, staged: Staged
) -> Job | None:
    try:
        job = running.finish(db, end)
    except BaseException:
        events.unstaged(staged)
        raise
    if job is None:
        events.unstaged(staged)
    return job


def _write_end(s: Session, job_id: uuid.UUID, fence: Fence, ending: Ending) -> Job | None:
    now = utcnow()
    if isinstance(fence, Queued):
        return job_queries.end_queued(s, job_id, fence.owner, ending.state, now, ending.error)
    return job_queries.finish_job(
        s, job_id, fence.attempt, ending.state, now, result=ending.result, error=ending.error
    )
