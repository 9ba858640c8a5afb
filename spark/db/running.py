"""The statements a worker runs for every job, each one round trip: the claim, progress, the
heartbeats of all its jobs at once, and the end (terminal row, usage charge and event rows in
one statement).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from spark.db import direct
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
    """A held job's end as one statement: the terminal row, its usage and its outbox rows."""

    job_id: uuid.UUID
    attempt: int
    state: JobState
    now: datetime
    result: Mapping[str, Any] | None
    error: JobError | None
    #: what the job used, computed from the job as claimed (written only if the end happens)
    usage: UsageRecord
    events: Sequence[Event]


# The usage and outbox rows are selected FROM done: if the fence fails (the attempt no longer
# holds the job) the UPDATE returns nothing and nothing else is written. The events travel as
# one JSON array (one C-encoded parameter rather than an array per column, which psycopg
# dumps in Python), laid out like the rows they become.
_FINISH = """
WITH done AS (
    UPDATE jobs SET state = %(state)s, finished_at = %(now)s, result = %(result)s,
        error = %(error)s,
        progress_percent = CASE WHEN %(done)s THEN 100 ELSE progress_percent END
    WHERE id = %(id)s AND state = 'running' AND attempts = %(attempt)s
    RETURNING *
), stored AS (
    INSERT INTO usage_records
        (job_id, owner, kind, state, model, tokens_in, tokens_out, duration_ms, created_at)
    SELECT id, owner, kind, state, %(model)s, %(tokens_in)s, %(tokens_out)s, %(duration_ms)s,
        finished_at
    FROM done
    ON CONFLICT (job_id) DO NOTHING
    RETURNING owner
), counted AS (
    INSERT INTO usage_counters (owner, period, tokens, jobs)
    SELECT owner, %(period)s, %(tokens)s, 1 FROM stored
    ON CONFLICT (owner, period) DO UPDATE
        SET tokens = usage_counters.tokens + EXCLUDED.tokens, jobs = usage_counters.jobs + 1
), staged AS (
    INSERT INTO event_outbox (id, subject, envelope, created_at)
    SELECT e.id, e.subject, e.envelope, %(now)s
    FROM jsonb_populate_recordset(NULL::event_outbox, %(events)s::jsonb) AS e
    WHERE EXISTS (SELECT FROM done)
) SELECT * FROM done
"""


def finish(db: Database, end: Finish) -> Job | None:
    """End the held job with its usage and events, atomically; None if the attempt lost it."""
    row = direct.fetch_one(db, _FINISH, _finish_params(end))
    return job_queries.to_job(row) if row is not None else None


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _finish_params(end: Finish) -> dict[str, Any]:
    usage, events = end.usage, end.events
    error = job_queries.error_json(end.error)
    return {
        "id": end.job_id,
        "attempt": end.attempt,
        "state": end.state.value,
        "now": end.now,
        "result": Jsonb(dict(end.result)) if end.result is not None else None,
        "error": Jsonb(error) if error is not None else None,
        "done": end.state is JobState.SUCCEEDED,
        "model": usage.model,
        "tokens_in": usage.tokens_in,
        "tokens_out": usage.tokens_out,
        "duration_ms": usage.duration_ms,
        "period": usage.period,
        "tokens": usage.tokens_in + usage.tokens_out,
        "events": _json([_outbox_row(e) for e in events]),
    }


def _outbox_row(event: Event) -> dict[str, Any]:
    # the envelope's values are already in JSON's text form (ids, timestamps)
    envelope = event.envelope()
    return {"id": envelope["id"], "subject": event.subject, "envelope": envelope}
