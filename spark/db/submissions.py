"""Named statements for submitting a job: the job row with its outbox row, and the lookup
of an earlier submission under the same Idempotency-Key."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import bindparam, func, insert, literal, select
from sqlalchemy.orm import Session

from spark.db.aio import AsyncDatabase
from spark.db.engine import Database
from spark.db.jobs import JOBS, OUTBOX, to_job
from spark.db.models import JobRow, UsageCounterRow
from spark.domain.jobs import Job

# Hot statements are built once with bind parameters: building a statement per call costs
# more CPU than executing it.
_JOB_INSERT_COLUMNS = (
    "id",
    "owner",
    "subject",
    "kind",
    "state",
    "params",
    "progress_percent",
    "progress_message",
    "attempts",
    "session_id",
    "project_id",
    "priority",
    "idempotency_key",
    "request_hash",
    "cancel_requested",
    "created_at",
)
_INSERT_JOB = insert(JOBS).values(
    {c: bindparam(f"p_{c}", type_=JOBS.c[c].type) for c in _JOB_INSERT_COLUMNS}
)
_INSERT_OUTBOX = insert(OUTBOX)


def _insert_job_with_outbox() -> Any:
    """INSERT job … RETURNING feeding INSERT outbox: both rows in one statement (Postgres)."""
    inserted = _INSERT_JOB.returning(
        JOBS.c.id, JOBS.c.kind, JOBS.c.priority, JOBS.c.created_at
    ).cte("inserted")
    source = select(
        inserted.c.id, inserted.c.kind, inserted.c.priority, inserted.c.created_at, literal(0)
    )
    return insert(OUTBOX).from_select(["job_id", "kind", "priority", "created_at", "sends"], source)


_INSERT_JOB_WITH_OUTBOX = _insert_job_with_outbox()


def _insert_job_under_token_quota() -> Any:
    """The job and its outbox row, inserted only while the owner's month of tokens is under
    token_limit: the quota check and the insert in one statement (Postgres)."""
    used = (
        select(UsageCounterRow.tokens)
        .where(
            UsageCounterRow.owner == bindparam("p_owner"),
            UsageCounterRow.period == bindparam("period"),
        )
        .scalar_subquery()
    )
    values = select(
        *(bindparam(f"p_{c}", type_=JOBS.c[c].type) for c in _JOB_INSERT_COLUMNS)
    ).where(func.coalesce(used, 0) < bindparam("token_limit"))
    inserted = (
        insert(JOBS)
        .from_select(_JOB_INSERT_COLUMNS, values)
        .returning(JOBS.c.id, JOBS.c.kind, JOBS.c.priority, JOBS.c.created_at)
        .cte("inserted")
    )
    source = select(
        inserted.c.id, inserted.c.kind, inserted.c.priority, inserted.c.created_at, literal(0)
    )
    return insert(OUTBOX).from_select(["job_id", "kind", "priority", "created_at", "sends"], source)


_INSERT_JOB_UNDER_QUOTA = _insert_job_under_token_quota()


def insertion(db: Database, *, checked: bool) -> AbstractContextManager[Session]:
    """Where a submission's checks and insert run: a transaction when checks share it, or
    when the insert is two statements (SQLite); else one autocommit statement (Postgres)."""
    if db.dialect == "postgresql" and not checked:
        return db.statement()
    return db.session()


def _values(job: Job, idempotency_key: str | None, request_hash: str) -> dict[str, Any]:
    return {
        "p_id": job.id,
        "p_owner": job.owner,
        "p_subject": job.subject,
        "p_kind": job.kind.value,
        "p_state": job.state.value,
        "p_params": dict(job.params),
        "p_progress_percent": 0,
        "p_progress_message": "",
        "p_attempts": 0,
        "p_session_id": job.session_id,
        "p_project_id": job.project_id,
        "p_priority": job.priority,
        "p_idempotency_key": idempotency_key,
        "p_request_hash": request_hash,
        "p_cancel_requested": False,
        "p_created_at": job.created_at,
    }


def insert_job(s: Session, job: Job, idempotency_key: str | None, request_hash: str) -> None:
    """Insert a queued job and its outbox row (one statement on Postgres)."""
    values = _values(job, idempotency_key, request_hash)
    if s.get_bind().dialect.name == "postgresql":
        s.execute(_INSERT_JOB_WITH_OUTBOX, values)
        return
    outbox = {
        "job_id": job.id,
        "kind": job.kind.value,
        "priority": job.priority,
        "created_at": job.created_at,
        "sends": 0,
    }
    s.execute(_INSERT_JOB, values)
    s.execute(_INSERT_OUTBOX, outbox)


async def insert_job_now(
    adb: AsyncDatabase, job: Job, request_hash: str, token_limit: int, period: str
) -> bool:
    """insert_job for the API's plain submissions (no Idempotency-Key, no check sharing the
    transaction), if the owner's tokens in period are under token_limit: one autocommit
    statement on Postgres, without a thread hop. False when the quota refused it."""
    if adb.db.dialect != "postgresql":
        await adb.in_thread(_insert_in_session, adb.db, job, request_hash)
        return True
    values = _values(job, None, request_hash) | {"token_limit": token_limit, "period": period}
    return await adb.run(_INSERT_JOB_UNDER_QUOTA, values) == 1


def _insert_in_session(db: Database, job: Job, request_hash: str) -> None:
    with insertion(db, checked=False) as s:
        insert_job(s, job, None, request_hash)


def find_by_idempotency_key(s: Session, owner: str, key: str) -> tuple[Job, str | None] | None:
    """The owner's job submitted under key, with the hash of the request that made it."""
    row = s.scalars(
        select(JobRow).where(JobRow.owner == owner, JobRow.idempotency_key == key)
    ).one_or_none()
    return (to_job(row), row.request_hash) if row else None
