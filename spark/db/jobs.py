"""Named queries for jobs and their dispatch outbox; rows leave here as domain Jobs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ARRAY, Table, Uuid, and_, any_, bindparam, or_, select, text, update

from spark.db.aio import AsyncDatabase
from spark.db.executor import Executor, compiled
from spark.db.models import JobRow, OutboxRow
from spark.domain.jobs import Job, JobError, JobKind, JobState, Progress

JOBS = cast(Table, JobRow.__table__)
OUTBOX = cast(Table, OutboxRow.__table__)


@dataclass(frozen=True)
class JobFilters:
    """Optional filters for listing a user's jobs."""

    kind: JobKind | None = None
    state: JobState | None = None
    session_id: str | None = None
    project_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page of the newest-first listing ends."""

    created_at: datetime
    id: uuid.UUID


def to_job(row: Any) -> Job:
    """Build the domain Job from a row of the jobs table."""
    error = row.error
    return Job(
        id=row.id,
        owner=row.owner,
        kind=JobKind(row.kind),
        state=JobState(row.state),
        params=row.params,
        created_at=row.created_at,
        progress=Progress(row.progress_percent, row.progress_message),
        result=row.result,
        error=JobError(error["code"], error["message"], error.get("details")) if error else None,
        attempts=row.attempts,
        session_id=row.session_id,
        project_id=row.project_id,
        parent_id=row.parent_id,
        priority=row.priority,
        started_at=row.started_at,
        finished_at=row.finished_at,
        heartbeat_at=row.heartbeat_at,
        worker=row.worker,
        cancel_requested=row.cancel_requested,
        subject=row.subject,
        request_id=row.request_id,
        waiting_on=row.waiting_on,
    )


#: the jobs whose ids are in the array `keys` (one, or a batch of polls)
JOBS_BY_KEYS = compiled(
    select(JOBS).where(JOBS.c.id == any_(bindparam("keys", type_=ARRAY(Uuid()))))
)


async def read_owned_job(
    adb: AsyncDatabase, job_id: uuid.UUID, owner: str, *, replica: bool = False
) -> Job | None:
    """owner's job (the API's poll: no thread hop, concurrent polls share a query), or None."""
    row = await adb.by_key(JOBS_BY_KEYS, "id", job_id, replica=replica)
    # ownership is checked here, on every row: another user's job is as unknown as none
    return to_job(row) if row is not None and row.owner == owner else None


def get_job(q: Executor, job_id: uuid.UUID, owner: str | None = None) -> Job | None:
    """One job; with owner, only if that user owns it."""
    row = q.one(JOBS_BY_KEYS, {"keys": [job_id]})
    return to_job(row) if row is not None and owner in (None, row.owner) else None


def states_of(q: Executor, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, JobState]:
    """The state of each of job_ids that exists."""
    if not job_ids:
        return {}
    return {row.id: JobState(row.state) for row in q.all(JOBS_BY_KEYS, {"keys": list(job_ids)})}


def list_jobs(
    q: Executor, owner: str, filters: JobFilters, limit: int, after: Cursor | None
) -> list[Job]:
    """A page of the owner's jobs, newest first, starting after the cursor."""
    c = JOBS.c
    query = select(JOBS).where(c.owner == owner)
    if filters.kind is not None:
        query = query.where(c.kind == filters.kind.value)
    if filters.state is not None:
        query = query.where(c.state == filters.state.value)
    if filters.session_id is not None:
        query = query.where(c.session_id == filters.session_id)
    if filters.project_id is not None:
        query = query.where(c.project_id == filters.project_id)
    if filters.parent_id is not None:
        query = query.where(c.parent_id == filters.parent_id)
    if after is not None:
        query = query.where(
            or_(
                c.created_at < after.created_at,
                and_(c.created_at == after.created_at, c.id < after.id),
            )
        )
    query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
    return [to_job(row) for row in q.all(query)]


def _job_or_none(row: Any) -> Job | None:
    return to_job(row) if row is not None else None


_TAKE_OVER = compiled(
    update(JOBS)
    .where(
        JOBS.c.id == bindparam("id"),
        JOBS.c.state == JobState.RUNNING.value,
        JOBS.c.attempts == bindparam("attempt"),
    )
    .values(attempts=JOBS.c.attempts + 1, worker=bindparam("worker"), heartbeat_at=bindparam("now"))
    .returning(*JOBS.c)
)


def take_over(q: Executor, job: Job, worker: str, now: datetime) -> Job | None:
    """running→running for a new worker, if nobody else moved the job since it was read."""
    params = {"id": job.id, "attempt": job.attempts, "worker": worker, "now": now}
    return _job_or_none(q.one(_TAKE_OVER, params))


def error_json(error: JobError | None) -> dict[str, Any] | None:
    """The error as the jobs table stores it."""
    if error is None:
        return None
    return {"code": error.code, "message": error.message, "details": error.details}


# Back to the queue with a dispatch row: a safety net when the message is on its way back
# (sent), or for the relay to send at once (not sent). One statement, so no transaction.
_REQUEUE = compiled(
    text(
        """
WITH back AS (
    UPDATE jobs SET state = :queued, worker = NULL, progress_message = :message
    WHERE id = :id AND state = :running AND attempts = :attempt
    RETURNING *
), dispatch AS (
    INSERT INTO job_outbox (job_id, kind, priority, created_at, sent_at, sends, queue)
    SELECT id, kind, priority, :now, :sent_at, :sends, :queue FROM back
    ON CONFLICT (job_id) DO UPDATE SET created_at = EXCLUDED.created_at,
        sent_at = EXCLUDED.sent_at, sends = EXCLUDED.sends, queue = EXCLUDED.queue
) SELECT * FROM back
"""
    )
)


def requeue(
    q: Executor,
    job_id: uuid.UUID,
    attempt: int,
    message: str,
    now: datetime,
    *,
    message_sent: bool = True,
    queue: str | None = None,
) -> Job | None:
    """running→queued for the attempt that holds the job, with its outbox row: a safety net
    when its message is on its way back (message_sent), or for the relay to send at once;
    queue is where the relay sends it (None: its kind's queue)."""
    params = {
        "queue": queue,
        "id": job_id,
        "attempt": attempt,
        "message": message,
        "now": now,
        "sent_at": now if message_sent else None,
        "sends": 1 if message_sent else 0,
        "queued": JobState.QUEUED.value,
        "running": JobState.RUNNING.value,
    }
    return _job_or_none(q.one(_REQUEUE, params))


_REQUEST_CANCEL = compiled(
    update(JOBS)
    .where(
        JOBS.c.id == bindparam("id"),
        JOBS.c.owner == bindparam("owner"),
        JOBS.c.state == JobState.RUNNING.value,
    )
    .values(cancel_requested=True)
    .returning(*JOBS.c)
)


def request_cancel(q: Executor, job_id: uuid.UUID, owner: str) -> Job | None:
    """Flag a running job; its worker stops at the next progress checkpoint."""
    return _job_or_none(q.one(_REQUEST_CANCEL, {"id": job_id, "owner": owner}))


_STALE = compiled(
    select(JOBS)
    .where(
        JOBS.c.state == JobState.RUNNING.value,
        JOBS.c.heartbeat_at < bindparam("before"),
        # a parent waiting for its child has no worker to lose (spark/jobs/children.py)
        JOBS.c.waiting_on.is_(None),
    )
    .order_by(JOBS.c.heartbeat_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)


def stale_running(q: Executor, heartbeat_before: datetime, limit: int) -> list[Job]:
    """Running jobs whose worker has not been heard from since heartbeat_before (each one's
    end or requeue is fenced by the attempt read here)."""
    return [to_job(row) for row in q.all(_STALE, {"before": heartbeat_before, "limit": limit})]


# Queued farm jobs and the target each waits for (their params' `target`).
_QUEUED_TARGETS = compiled(
    text(
        """
SELECT DISTINCT params->>'target' AS target FROM jobs
WHERE state = :queued AND kind = ANY(CAST(:kinds AS varchar[])) AND params->>'target' IS NOT NULL
"""
    )
)
_MARK_WAITING = compiled(
    text(
        """
UPDATE jobs SET progress_message = :prefix || (params->>'target')
WHERE state = :queued AND kind = ANY(CAST(:kinds AS varchar[]))
  AND params->>'target' = ANY(CAST(:missing AS varchar[]))
  AND progress_message <> :prefix || (params->>'target')
"""
    )
)
_CLEAR_WAITING = compiled(
    text(
        """
UPDATE jobs SET progress_message = ''
WHERE state = :queued AND kind = ANY(CAST(:kinds AS varchar[]))
  AND starts_with(progress_message, :prefix)
  AND NOT params->>'target' = ANY(CAST(:missing AS varchar[]))
"""
    )
)


def queued_targets(q: Executor, kinds: Sequence[JobKind]) -> set[str]:
    """The targets queued jobs of kinds are for."""
    params = {"queued": JobState.QUEUED.value, "kinds": [k.value for k in kinds]}
    return {row.target for row in q.all(_QUEUED_TARGETS, params)}


def mark_waiting(
    q: Executor, kinds: Sequence[JobKind], missing: Sequence[str], prefix: str
) -> tuple[int, int]:
    """Queued jobs of kinds for a target in missing say `<prefix><target>`; the others
    saying so stop; returns how many were marked and how many cleared."""
    params = {
        "queued": JobState.QUEUED.value,
        "kinds": [k.value for k in kinds],
        "missing": list(missing),
        "prefix": prefix,
    }
    return q.run(_MARK_WAITING, params), q.run(_CLEAR_WAITING, params)
