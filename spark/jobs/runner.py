"""Running one job: claim it, call its handler with progress checkpoints, end it."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from spark import logs
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.events import EventType
from spark.domain.files import Author
from spark.domain.jobs import Claim, Job, JobError, JobState
from spark.errors import DependencyUnavailable, JobFailure, JobTimedOut
from spark.events.envelope import job_event
from spark.events.sink import EventSink
from spark.jobs import lifecycle
from spark.jobs.ending import CANCELED, TIME_LIMIT, Ending, Held, end_job
from spark.jobs.tools import Tools

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the job, a checkpoint that reports progress, the process's tools."""

    job: Job
    attempt: int
    #: report(percent, message); raises JobCanceled or JobLost to stop the handler
    report: Callable[[int, str], None]
    tools: Tools | None = None
    #: where the job's own events (a preview's frame) go, alongside started and terminal
    events: EventSink | None = None

    @property
    def author(self) -> Author:
        """Who the job's file writes are by: its owner, the key or JWT that submitted it, it."""
        return Author(self.job.owner, self.job.subject, self.job.id)

    def emit(self, type_: EventType, data: Mapping[str, Any]) -> None:
        """Announce something the handler did (a frame) on the job's subject tree."""
        if self.events is not None:
            self.events.publish(job_event(self.job, type_, data))

    def need_tools(self) -> Tools:
        """The worker's tools; a handler that needs them cannot run without a worker."""
        if self.tools is None:
            raise RuntimeError(f"{self.job.kind.value} jobs run only on a worker")
        return self.tools


Handler = Callable[[JobContext], Mapping[str, Any]]
Tracker = Callable[[uuid.UUID, int], AbstractContextManager[None]]


@dataclass(frozen=True)
class Waits:
    """The job handed over to child jobs (spark/jobs/children.py): it ends when they do."""

    job: Job


#: what follows a handler's success: the end as it was, another end, Waits, or None when
#: this attempt lost the job meanwhile
FollowUp = Callable[[Claim, Ending], "Ending | Waits | None"]


@dataclass(frozen=True)
class RunPolicy:
    """How claims behave and which exceptions mean the time limit was hit."""

    worker: str
    lease_s: float
    max_attempts: int
    #: where started, progress and terminal events go
    events: EventSink
    #: progress is written at most this often; cancel is noticed at those writes
    progress_interval_s: float = 0.25
    timeout_errors: tuple[type[BaseException], ...] = ()
    track: Tracker | None = None
    #: how long after submission a job may keep waiting for a failing dependency
    wait_limit_s: float = 120.0
    #: how long ending a job retries while the database is away
    end_patience_s: float = 30.0
    #: handed to the handler as JobContext.tools
    tools: Tools | None = None
    #: asked after the handler succeeds (a verify step to start)
    follow_up: FollowUp | None = None


def run_job(db: Database, job_id: uuid.UUID, handler: Handler, policy: RunPolicy) -> Job | None:
    """Run the job if this message may; returns the finished job, or None if it did nothing."""
    held = lifecycle.claim(
        db,
        policy.events,
        job_id,
        policy.worker,
        lease_s=policy.lease_s,
        max_attempts=policy.max_attempts,
    )
    if held is None:
        log.info("job %s: not claimable (duplicate or finished); skipping", job_id)
        return None
    # Until the task ends (the worker clears it), every line names the job, who submitted it
    # and the request that did.
    logs.bind(job_id=job_id, request_id=held.job.request_id, user=held.job.owner)
    if log.isEnabledFor(logging.DEBUG):
        params = logs.summary(held.job.params)
        log.debug("running %s attempt %d: %s", held.job.kind.value, held.attempt, params)
    if held.job.cancel_requested:
        return _end(db, held, policy, Ending(JobState.CANCELED, error=CANCELED))
    policy.events.publish(job_event(held.job, EventType.STARTED, {"attempt": held.attempt}))
    tracking = policy.track(job_id, held.attempt) if policy.track else nullcontext()
    with tracking:
        ending = _execute(db, held, handler, policy)
        if ending is not None and ending.state is JobState.SUCCEEDED and policy.follow_up:
            followed = policy.follow_up(held, ending)
            if isinstance(followed, Waits):
                return followed.job
            ending = followed
    ended = None if ending is None else _end(db, held, policy, ending)
    if ended is None:
        # Another attempt owns the job (this one was reaped or taken over): what this one
        # stored is listed nowhere and must not outlive it.
        _discard(held, policy)
    return ended


def _discard(held: Claim, policy: RunPolicy) -> None:
    """Delete the artifacts this attempt stored; a store that is away leaves them to
    retention, which removes every attempt's files with the job."""
    if policy.tools is None:
        return
    try:
        policy.tools.artifacts.discard(held.job.id, held.attempt)
    except Exception:
        log.warning("job %s attempt %d: artifacts not discarded", held.job.id, held.attempt)


def _end(db: Database, held: Claim, policy: RunPolicy, ending: Ending) -> Job | None:
    return end_job(
        db, policy.events, held.job, Held(held.attempt), ending, patience_s=policy.end_patience_s
    )


class JobDeferred(Exception):
    """The job went back to the queue; the task should run again after countdown seconds."""

    def __init__(self, countdown: int) -> None:
        super().__init__(countdown)
        self.countdown = countdown


class _Checkpoint:
    """A handler's progress reports, written at most once per interval.

    A fast job reports a dozen times in a few milliseconds; writing each would cost more
    than the job. Skipped reports are superseded by the next one that is written.
    """

    def __init__(self, db: Database, held: Claim, interval_s: float, events: EventSink) -> None:
        self._db, self._held, self._interval, self._events = db, held, interval_s, events
        self._last = time.monotonic()

    def __call__(self, percent: int, message: str) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        lifecycle.report_progress(self._db, self._held, percent, message)
        data = {"percent": percent, "message": message}
        self._events.publish(job_event(self._held.job, EventType.PROGRESS, data))


def _execute(db: Database, held: Claim, handler: Handler, policy: RunPolicy) -> Ending | None:
    """Call the handler and decide how the job ends; None if this attempt lost the job."""
    report = _Checkpoint(db, held, policy.progress_interval_s, policy.events)
    ctx = JobContext(held.job, held.attempt, report, policy.tools, policy.events)
    try:
        result = handler(ctx)
    except lifecycle.JobCanceled:
        return Ending(JobState.CANCELED, error=CANCELED)
    except lifecycle.JobLost:
        log.warning("job %s attempt %d lost its claim; stopping", held.job.id, held.attempt)
        return None
    except DependencyUnavailable as exc:
        return _wait_or_fail(db, held, exc, policy)
    except JobFailure as exc:
        # A build that timed out or failed still reports what it found (errors, totals).
        state = JobState.TIMED_OUT if isinstance(exc, JobTimedOut) else JobState.FAILED
        return Ending(state, exc.result, JobError(exc.failure_code, exc.message, exc.details))
    except policy.timeout_errors:
        return Ending(JobState.TIMED_OUT, error=TIME_LIMIT)
    except Exception as exc:
        log.exception("job %s failed unexpectedly", held.job.id)
        error = JobError("internal_error", f"the job failed unexpectedly ({type(exc).__name__})")
        return Ending(JobState.FAILED, error=error)
    return Ending(JobState.SUCCEEDED, result=result)


def _wait_or_fail(
    db: Database, held: Claim, exc: DependencyUnavailable, policy: RunPolicy
) -> Ending | None:
    """Requeue the job to wait for its dependency, unless the wait would take it past its
    limit (a dependency that says it is away for longer fails the job now, not at the end)."""
    waited = (utcnow() - held.job.created_at).total_seconds()
    countdown = int(exc.headers.get("Retry-After", "5"))
    if waited + countdown > policy.wait_limit_s:
        error = JobError(exc.code, f"gave up after {waited:.0f}s: {exc.message}")
        return Ending(JobState.FAILED, error=error)
    if lifecycle.requeue(db, held, f"waiting: {exc.message}") is None:
        return None
    log.info("job %s waits %ds for its dependency: %s", held.job.id, countdown, exc.message)
    raise JobDeferred(max(1, countdown))
