"""Named queries for jobs and their dispatch outbox; rows leave here as domain Jobs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    Table,
    Uuid,
    and_,
    any_,
    bindparam,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from spark.db.aio import AsyncDatabase
from spark.db.models import JobRow, OutboxRow
from spark.domain.jobs import Job, JobError, JobKind, JobState, Progress

# Writes on the hot path go through the Core tables: the ORM's unit of work and identity map
# buy nothing for a one-statement update and cost a few hundred microseconds each.
JOBS = cast(Table, JobRow.__table__)
#: the jobs table's columns in the model's order, for textual statements typed as JOBS.c
JOB_COLUMNS = ", ".join(column.name for column in JOBS.c)
OUTBOX = cast(Table, OutboxRow.__table__)


@dataclass(frozen=True)
class JobFilters:
    """Optional filters for listing a user's jobs."""

    kind: JobKind | None = None
    state: JobState | None = None
    session_id: str | None = None
    project_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page of the newest-first listing ends."""

    created_at: datetime
    id: uuid.UUID


def to_job(row: Any) -> Job:
    """Build the domain Job from its row (an ORM JobRow or a Core row of the jobs table)."""
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
        priority=row.priority,
        started_at=row.started_at,
        finished_at=row.finished_at,
        heartbeat_at=row.heartbeat_at,
        worker=row.worker,
        cancel_requested=row.cancel_requested,
        subject=row.subject,
        request_id=row.request_id,
    )


#: the jobs whose ids are in the array `keys` (one, or a batch of polls)
JOBS_BY_KEYS = select(JOBS).where(JOBS.c.id == any_(bindparam("keys", type_=ARRAY(Uuid()))))


async def read_owned_job(
    adb: AsyncDatabase, job_id: uuid.UUID, owner: str, *, replica: bool = False
) -> Job | None:
    """owner's job (the API's poll: no thread hop, concurrent polls share a query), or None."""
    row = await adb.by_key(JOBS_BY_KEYS, "id", job_id, replica=replica)
    # ownership is checked here, on every row: another user's job is as unknown as none
    return to_job(row) if row is not None and row.owner == owner else None


def get_job(s: Session, job_id: uuid.UUID, owner: str | None = None) -> Job | None:
    """One job; with owner, only if that user owns it."""
    row = s.execute(JOBS_BY_KEYS, {"keys": [job_id]}).first()
    return to_job(row) if row is not None and owner in (None, row.owner) else None


def list_jobs(
    s: Session, owner: str, filters: JobFilters, limit: int, after: Cursor | None
) -> list[Job]:
    """A page of the owner's jobs, newest first, starting after the cursor."""
    query = select(JobRow).where(JobRow.owner == owner)
    if filters.kind is not None:
        query = query.where(JobRow.kind == filters.kind.value)
    if filters.state is not None:
        query = query.where(JobRow.state == filters.state.value)
    if filters.session_id is not None:
        query = query.where(JobRow.session_id == filters.session_id)
    if filters.project_id is not None:
        query = query.where(JobRow.project_id == filters.project_id)
    if after is not None:
        query = query.where(
            or_(
                JobRow.created_at < after.created_at,
                and_(JobRow.created_at == after.created_at, JobRow.id < after.id),
            )
        )
    query = query.order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit)
    return [to_job(row) for row in s.scalars(query)]


def _returning_job(s: Session, stmt: Any, params: Mapping[str, Any] | None = None) -> Job | None:
    found = s.execute(stmt.returning(*JOBS.c), dict(params or {})).one_or_none()
    return to_job(found) if found else None


CLAIM = (
    update(JOBS)
    .where(JOBS.c.id == bindparam("p_id"), JOBS.c.state == JobState.QUEUED.value)
    .values(
        state=JobState.RUNNING.value,
        attempts=JOBS.c.attempts + 1,
        worker=bindparam("p_worker"),
        started_at=bindparam("p_now"),
        heartbeat_at=bindparam("p_now"),
    )
    .returning(*JOBS.c)
)


def take_over(s: Session, job: Job, worker: str, now: datetime) -> Job | None:
    """running→running for a new worker, if nobody else moved the job since it was read."""
    return _returning_job(
        s,
        update(JOBS)
        .where(
            JobRow.id == job.id,
            JobRow.state == JobState.RUNNING.value,
            JobRow.attempts == job.attempts,
        )
        .values(attempts=JobRow.attempts + 1, worker=worker, heartbeat_at=now),
    )


PROGRESS = (
    update(JOBS)
    .where(
        JOBS.c.id == bindparam("p_id"),
        JOBS.c.state == JobState.RUNNING.value,
        JOBS.c.attempts == bindparam("p_attempt"),
    )
    .values(
        progress_percent=bindparam("p_percent"),
        progress_message=bindparam("p_message"),
        heartbeat_at=bindparam("p_now"),
    )
    .returning(JOBS.c.cancel_requested)
)


def progress_params(
    job_id: uuid.UUID, attempt: int, progress: Progress, now: datetime
) -> dict[str, Any]:
    """The bound parameters of PROGRESS."""
    return {
        "p_id": job_id,
        "p_attempt": attempt,
        "p_percent": progress.percent,
        "p_message": progress.message,
        "p_now": now,
    }


def error_json(error: JobError | None) -> dict[str, Any] | None:
    """The error as the jobs table stores it."""
    if error is None:
        return None
    return {"code": error.code, "message": error.message, "details": error.details}


# Back to the queue with a dispatch row: a safety net when the message is on its way back
# (sent), or for the relay to send at once (not sent). One statement, so no transaction.
_REQUEUE = text(
    f"""
WITH back AS (
    UPDATE jobs SET state = :queued, worker = NULL, progress_message = :message
    WHERE id = :id AND state = :running AND attempts = :attempt
    RETURNING *
), dispatch AS (
    INSERT INTO job_outbox (job_id, kind, priority, created_at, sent_at, sends)
    SELECT id, kind, priority, :now, :sent_at, :sends FROM back
    ON CONFLICT (job_id) DO UPDATE SET created_at = EXCLUDED.created_at,
        sent_at = EXCLUDED.sent_at, sends = EXCLUDED.sends
) SELECT {JOB_COLUMNS} FROM back
"""
).columns(*JOBS.c)


def requeue(
    s: Session,
    job_id: uuid.UUID,
    attempt: int,
    message: str,
    now: datetime,
    *,
    message_sent: bool = True,
) -> Job | None:
    """running→queued for the attempt that holds the job, with its outbox row: a safety net
    when its message is on its way back (message_sent), or for the relay to send at once."""
    params = {
        "id": job_id,
        "attempt": attempt,
        "message": message,
        "now": now,
        "sent_at": now if message_sent else None,
        "sends": 1 if message_sent else 0,
        "queued": JobState.QUEUED.value,
        "running": JobState.RUNNING.value,
    }
    found = s.execute(_REQUEUE, params).first()
    return to_job(found) if found else None


def request_cancel(s: Session, job_id: uuid.UUID, owner: str) -> Job | None:
    """Flag a running job; its worker stops at the next progress checkpoint."""
    return _returning_job(
        s,
        update(JOBS)
        .where(JobRow.id == job_id, JobRow.owner == owner, JobRow.state == JobState.RUNNING.value)
        .values(cancel_requested=True),
    )


def stale_running(s: Session, heartbeat_before: datetime, limit: int) -> list[Job]:
    """Running jobs whose worker has not been heard from since heartbeat_before."""
    query = (
        select(JobRow)
        .where(JobRow.state == JobState.RUNNING.value, JobRow.heartbeat_at < heartbeat_before)
        .order_by(JobRow.heartbeat_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [to_job(row) for row in s.scalars(query)]


def states_of(s: Session, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, JobState]:
    """The state of each of job_ids that exists."""
    if not job_ids:
        return {}
    rows = s.execute(JOBS_BY_KEYS, {"keys": list(job_ids)})
    return {row.id: JobState(row.state) for row in rows}
