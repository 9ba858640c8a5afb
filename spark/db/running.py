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

from psycopg.types.json import Jsonb
from sqlalchemy import text

from spark.db import direct
from spark.db import events as event_queries
from spark.db import jobs as job_queries
from spark.db.engine import Database
from spark.db.types import utcnow
from spark.db.usage import UsageRecord
from spark.domain.events import Event
from spark.domain.jobs import Job, JobError, JobState, Progress

_CLAIM = direct.compile_pg(job_queries.CLAIM)
_PROGRESS = direct.compile_pg(job_queries.PROGRESS)


def claim(db: Database, job_id: uuid.UUID, worker: str, now: datetime) -> Job | None:
    """queued→running for this worker; None if the job was not queued (already taken).

    The job's outbox row stays; the relay prunes rows of jobs that are no longer queued.
    """
    row = direct.fetch_one(db, *_CLAIM.bind({"p_id": job_id, "p_worker": worker, "p_now": now}))
    return job_queries.to_job(row) if row is not None else None


def record_progress(
    db: Database, job_id: uuid.UUID, attempt: int, progress: Progress, now: datetime
) -> bool | None:
    """Store progress; whether cancel was requested, or None if the attempt lost the job."""
    params = job_queries.progress_params(job_id, attempt, progress, now)
    row = direct.fetch_one(db, *_PROGRESS.bind(params))
    return None if row is None else bool(row[0])


_BEAT = """
UPDATE jobs SET heartbeat_at = %(now)s
FROM unnest(%(ids)s::uuid[], %(attempts)s::int[]) AS held(id, attempt)
WHERE jobs.id = held.id AND jobs.attempts = held.attempt AND jobs.state = 'running'
"""


def touch_heartbeats(db: Database, running: Sequence[tuple[uuid.UUID, int]]) -> None:
    """Refresh the heartbeat of each (job, attempt) this process runs, in one statement."""
    if not running:
        return
    params = {
        "now": utcnow(),
        "ids": [job_id for job_id, _ in running],
        "attempts": [attempt for _, attempt in running],
    }
    with direct.connection(db) as conn:
        conn.execute(_BEAT, params)


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
_FINISH = text(
    f"""
WITH done AS (
    UPDATE jobs SET state = :state, finished_at = :now, result = :result, error = :error,
        progress_percent = CASE WHEN :done THEN 100 ELSE progress_percent END,
        cancel_requested = cancel_requested OR :canceled
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
) SELECT {job_queries.JOB_COLUMNS} FROM done
"""
).columns(*job_queries.JOBS.c)
_FINISH_SQL = direct.compile_pg(_FINISH)


def finish(db: Database, end: Finish) -> Job | None:
    """End the job with its usage and events, atomically; None if the fence no longer holds."""
    row = direct.fetch_one(db, *_FINISH_SQL.bind(_finish_params(end)))
    return job_queries.to_job(row) if row is not None else None


def _finish_params(end: Finish) -> dict[str, Any]:
    usage = end.usage
    error = job_queries.error_json(end.error)
    return {
        "id": end.job_id,
        "from_state": end.from_state.value,
        "attempt": end.attempt,
        "owner": end.owner,
        "state": end.state.value,
        "now": end.now,
        "result": Jsonb(dict(end.result)) if end.result is not None else None,
        "error": Jsonb(error) if error is not None else None,
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
