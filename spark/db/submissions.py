"""Named statements for submitting a job: the job row with its outbox row, and the lookup
of an earlier submission under the same Idempotency-Key."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import bindparam, insert, literal, select
from sqlalchemy.orm import Session

from spark.db.engine import Database
from spark.db.jobs import JOBS, OUTBOX, to_job
from spark.db.models import JobRow
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


def insertion(db: Database, *, checked: bool) -> AbstractContextManager[Session]:
    """Where a submission's checks and insert run: a transaction when checks share it, or
    when the insert is two statements (SQLite); else one autocommit statement (Postgres)."""
    if db.dialect == "postgresql" and not checked:
        return db.statement()
    return db.session()


def insert_job(s: Session, job: Job, idempotency_key: str | None, request_hash: str) -> None:
    """Insert a queued job and its outbox row (one statement on Postgres)."""
    values = {
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


def find_by_idempotency_key(s: Session, owner: str, key: str) -> tuple[Job, str | None] | None:
    """The owner's job submitted under key, with the hash of the request that made it."""
    row = s.scalars(
        select(JobRow).where(JobRow.owner == owner, JobRow.idempotency_key == key)
    ).one_or_none()
    return (to_job(row), row.request_hash) if row else None
