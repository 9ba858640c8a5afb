"""Named queries for jobs and their dispatch outbox; rows leave here as domain Jobs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    Boolean,
    Table,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from spark.db.aio import AsyncDatabase
from spark.db.models import JobRow, OutboxRow
from spark.domain.jobs import Job, JobError, JobKind, JobState, Progress

# Writes on the hot path go through the Core tables: the ORM's unit of work and identity map
# buy nothing for a one-statement update and cost a few hundred microseconds each.
JOBS = cast(Table, JobRow.__table__)
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


_JOBS_BY_KEYS = select(JOBS).where(JOBS.c.id == any_(bindparam("keys", type_=ARRAY(Uuid()))))


async def read_owned_job(
    adb: AsyncDatabase, job_id: uuid.UUID, owner: str, *, replica: bool = False
) -> Job | None:
    """owner's job (the API's poll: no thread hop, concurrent polls share a query), or None."""
    row = await adb.by_key(_JOBS_BY_KEYS, "id", job_id, replica=replica)
    # ownership is checked here, on every row: another user's job is as unknown as none
    return to_job(row) if row is not None and row.owner == owner else None


def get_job(s: Session, job_id: uuid.UUID, owner: str | None = None) -> Job | None:
    """One job; with owner, only if that user owns it."""
    query = select(JobRow).where(JobRow.id == job_id)
    if owner is not None:
        query = query.where(JobRow.owner == owner)
    row = s.scalars(query).one_or_none()
    return to_job(row) if row else None


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


_HELD = (
    JOBS.c.id == bindparam("p_id"),
    JOBS.c.state == JobState.RUNNING.value,
    JOBS.c.attempts == bindparam("p_attempt"),
)
_FINISH = (
    update(JOBS)
    .where(*_HELD)
    .values(
        state=bindparam("p_state"),
        finished_at=bindparam("p_now"),
        result=bindparam("p_result", type_=JOBS.c.result.type),
        error=bindparam("p_error", type_=JOBS.c.error.type),
        # a success is 100% done; anything else keeps the progress it reached
        progress_percent=case(
            (bindparam("p_done", type_=Boolean), 100), else_=JOBS.c.progress_percent
        ),
    )
    .returning(*JOBS.c)
)


def finish_job(
    s: Session,
    job_id: uuid.UUID,
    attempt: int,
    state: JobState,
    now: datetime,
    result: Mapping[str, Any] | None = None,
    error: JobError | None = None,
) -> Job | None:
    """running→terminal for the attempt that holds the job; None if it no longer does."""
    params = {
        "p_id": job_id,
        "p_attempt": attempt,
        "p_state": state.value,
        "p_now": now,
        "p_result": dict(result) if result is not None else None,
        "p_error": error_json(error),
        "p_done": state is JobState.SUCCEEDED,
    }
    found = s.execute(_FINISH, params).one_or_none()
    return to_job(found) if found else None


def error_json(error: JobError | None) -> dict[str, Any] | None:
    """The error as the jobs table stores it."""
    if error is None:
        return None
    return {"code": error.code, "message": error.message, "details": error.details}


def requeue(
    s: Session,
    job_id: uuid.UUID,
    attempt: int,
    message: str,
    now: datetime,
    *,
    message_sent: bool = True,
) -> Job | None:
    """running→queued for the attempt that holds the job, with an outbox row: a safety net
    when its message is on its way back (message_sent), or for the relay to send at once."""
    job = _returning_job(
        s,
        update(JOBS)
        .where(*_HELD)
        .values(state=JobState.QUEUED.value, worker=None, progress_message=message),
        params={"p_id": job_id, "p_attempt": attempt},
    )
    if job is not None:
        s.execute(delete(OUTBOX).where(OUTBOX.c.job_id == job_id))
        s.execute(
            insert(OUTBOX).values(
                job_id=job_id,
                kind=job.kind.value,
                priority=job.priority,
                created_at=now,
                sent_at=now if message_sent else None,
                sends=1 if message_sent else 0,
            )
        )
    return job


def end_queued(
    s: Session,
    job_id: uuid.UUID,
    owner: str,
    state: JobState,
    now: datetime,
    error: JobError | None,
) -> Job | None:
    """queued→terminal for the owner (a cancel); the outbox row goes too, so the relay never
    sends it. None if the job is not the owner's or no longer queued."""
    job = _returning_job(
        s,
        update(JOBS)
        .where(JobRow.id == job_id, JobRow.owner == owner, JobRow.state == JobState.QUEUED.value)
        .values(
            state=state.value,
            finished_at=now,
            cancel_requested=state is JobState.CANCELED,
            error=error_json(error),
        ),
    )
    if job is not None:
        s.execute(delete(OUTBOX).where(OutboxRow.job_id == job_id))
    return job


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
    rows = s.execute(select(JobRow.id, JobRow.state).where(JobRow.id.in_(job_ids)))
    return {row.id: JobState(row.state) for row in rows}
