"""The statements a worker runs for every job, each one round trip: the claim, progress, the
heartbeats of all its jobs at once, and the end (terminal row, usage charge and event rows in
one statement), which is every job's end, whoever ends it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text, update

from spark.db import events as event_queries
from spark.db import jobs as job_queries
from spark.db.executor import Executor, compiled
from spark.db.types import utcnow
from spark.db.usage import UsageRecord
from spark.domain.events import Event
from spark.domain.jobs import Job, JobError, JobState, Progress

JOBS = job_queries.JOBS

_CLAIM = compiled(
    update(JOBS)
    .where(JOBS.c.id == bindparam("id"), JOBS.c.state == JobState.QUEUED.value)
    .values(
        state=JobState.RUNNING.value,
        attempts=JOBS.c.attempts + 1,
        worker=bindparam("worker"),
        started_at=bindparam("now"),
        heartbeat_at=bindparam("now"),
    )
    .returning(*JOBS.c)
)


def claim(q: Executor, job_id: uuid.UUID, worker: str, now: datetime) -> Job | None:
    """queued→running for this worker; None if the job was not queued (already taken).

    The job's outbox row stays; the relay prunes rows of jobs that are no longer queued.
    """
    row = q.one(_CLAIM, {"id": job_id, "worker": worker, "now": now})
    return job_queries.to_job(row) if row is not None else None


_PROGRESS = compiled(
    update(JOBS)
    .where(
        JOBS.c.id == bindparam("id"),
        JOBS.c.state == JobState.RUNNING.value,
        JOBS.c.attempts == bindparam("attempt"),
    )
    .values(
        progress_percent=bindparam("percent"),
        progress_message=bindparam("message"),
        heartbeat_at=bindparam("now"),
    )
    .returning(JOBS.c.cancel_requested)
)


def record_progress(
    q: Executor, job_id: uuid.UUID, attempt: int, progress: Progress, now: datetime
) -> bool | None:
    """Store progress; whether cancel was requested, or None if the attempt lost the job."""
    params = {
        "id": job_id,
        "attempt": attempt,
        "percent": progress.percent,
        "message": progress.message,
        "now": now,
    }
    flag = q.one(_PROGRESS, params)
    return None if flag is None else bool(flag[0])


_BEAT = compiled(
    text(
        """
UPDATE jobs SET heartbeat_at = :now
FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS int[])) AS held(id, attempt)
WHERE jobs.id = held.id AND jobs.attempts = held.attempt AND jobs.state = 'running'
"""
    )
)


def touch_heartbeats(q: Executor, running: Sequence[tuple[uuid.UUID, int]]) -> None:
    """Refresh the heartbeat of each (job, attempt) this process runs, in one statement."""
    if not running:
        return
    params = {
        "now": utcnow(),
        "ids": [job_id for job_id, _ in running],
        "attempts": [attempt for _, attempt in running],
    }
    q.run(_BEAT, params)


@dataclass(frozen=True)
class Finish:
    """A job's end as one statement: the terminal row, its usage and its outbox rows."""

    job_id: uuid.UUID
    #: the fence: the job is in from_state at this attempt (and, when given, owner's)
    from_state: JobState
    attempt: int
    owner: str | None
    state: JobState
    now: datetime
    result: Mapping[str, Any] | None
    error: JobError | None
    #: what the job used, computed from the job as its ender knows it (written only if the
    #: end happens)
    usage: UsageRecord
    events: Sequence[Event]


# Every job's end, whoever ends it. The usage and outbox rows are selected FROM done: if the
# fence fails (the attempt no longer holds the job, or a queued job was taken meanwhile) the
# UPDATE returns nothing and nothing else is written. The job is charged once (the record is
# inserted once, and only a new record adds to the month's counter).
_FINISH = compiled(
    text(
        f"""
WITH done AS (
    UPDATE jobs SET state = :state, finished_at = :now, result = :result, error = :error,
        progress_percent = CASE WHEN :done THEN 100 ELSE progress_percent END,
        cancel_requested = cancel_requested OR :canceled,
        waiting_on = NULL, continuation = NULL
    WHERE id = :id AND state = :from_state AND attempts = :attempt
        AND (CAST(:owner AS varchar) IS NULL OR owner = :owner)
    RETURNING *
), stored AS (
    INSERT INTO usage_records
        (job_id, owner, kind, state, model, tokens_in, tokens_out, duration_ms, created_at)
    SELECT id, owner, kind, state, :model, :tokens_in, :tokens_out, :duration_ms, finished_at
    FROM done
    ON CONFLICT (job_id) DO NOTHING
    RETURNING owner
), counted AS (
    INSERT INTO usage_counters (owner, period, tokens, jobs)
    SELECT owner, :period, :tokens, 1 FROM stored
    ON CONFLICT (owner, period) DO UPDATE
        SET tokens = usage_counters.tokens + EXCLUDED.tokens, jobs = usage_counters.jobs + 1
), staged AS (
    {event_queries.STAGE_EVENTS} WHERE EXISTS (SELECT FROM done)
) SELECT * FROM done
"""
    )
)


def finish(q: Executor, end: Finish) -> Job | None:
    """End the job with its usage and events, atomically; None if the fence no longer holds."""
    row = q.one(_FINISH, _finish_params(end))
    return job_queries.to_job(row) if row is not None else None


def _finish_params(end: Finish) -> dict[str, Any]:
    usage = end.usage
    return {
        "id": end.job_id,
        "from_state": end.from_state.value,
        "attempt": end.attempt,
        "owner": end.owner,
        "state": end.state.value,
        "now": end.now,
        "result": dict(end.result) if end.result is not None else None,
        "error": job_queries.error_json(end.error),
        "done": end.state is JobState.SUCCEEDED,
        "canceled": end.state is JobState.CANCELED,
        "model": usage.model,
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
        "duration_ms": usage.duration_ms,
        "period": usage.period,
        "tokens": usage.tokens_in + usage.tokens_out,
        "events": event_queries.outbox_rows(end.events),
    }
