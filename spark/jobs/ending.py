"""The one way a job ends, whoever ends it: the runner, a cancel, the reaper, a takeover.

Ending is one statement: the terminal row (fenced, so only the attempt that holds the job,
or its owner while it is still queued, can end it), the usage charge and the terminal event
(into the event outbox, from which it is sent to NATS). The usage and the event are computed
beforehand from the job as its ender knows it (as claimed, or as read) and written only if
the fenced update ends it. A process killed at any point leaves either none of it — the job
is still running, and is taken over or reaped — or all of it; the event then reaches NATS
from the outbox relay if this process did not send it on. Metrics are counted after the
commit, by the process that ended the job.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from spark import metrics
from spark.db import running
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.jobs import Job, JobError, JobState
from spark.errors import ServiceUnavailable
from spark.events.envelope import outcome_event
from spark.events.sink import EventSink
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
    job: Job,
    fence: Fence,
    ending: Ending,
    *,
    patience_s: float = 30.0,
) -> Job | None:
    """End job if fence still holds; None if someone else ended it or holds it now.

    job is the job as its ender knows it (as claimed, or as read): the usage charge and the
    terminal event are computed from it, and written only if the fenced update ends it. While
    the database is away the end is tried again for up to patience_s; then
    ServiceUnavailable propagates and nothing of the ending has happened.
    """
    pause_point("end_decided")
    end = _finish_of(job, fence, ending)
    try:
        ended = running.finish(db, end)
    except ServiceUnavailable:
        # Only now build the retry loop: a job's end is on every job's path.
        retrying = Retrying(
            stop=stop_after_delay(patience_s),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            retry=retry_if_exception_type(ServiceUnavailable),
            reraise=True,
        )
        ended = retrying(running.finish, db, end)
    if ended is None:
        return None
    pause_point("end_committed")
    events.committed(end.events)
    metrics.job_finished(ended)
    return ended


def _finish_of(job: Job, fence: Fence, ending: Ending) -> running.Finish:
    """The end's one statement: what it writes is computed from job as it will be once ended."""
    now = utcnow()
    attempt = fence.attempt if isinstance(fence, Held) else job.attempts
    expected = replace(
        job,
        state=ending.state,
        finished_at=now,
        result=ending.result,
        error=ending.error,
        attempts=attempt,
    )
    return running.Finish(
        job_id=job.id,
        from_state=JobState.RUNNING if isinstance(fence, Held) else JobState.QUEUED,
        attempt=attempt,
        owner=fence.owner if isinstance(fence, Queued) else None,
        state=ending.state,
        now=now,
        result=ending.result,
        error=ending.error,
        usage=usage_of(expected),
        events=(outcome_event(expected),),
    )
