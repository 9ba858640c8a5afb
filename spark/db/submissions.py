"""Named statements for submitting a job: the job row with its outbox row, and the lookup
of an earlier submission under the same Idempotency-Key."""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, literal, select, text
from sqlalchemy.orm import Session

from spark.db.aio import AsyncDatabase
from spark.db.engine import Database
from spark.db.jobs import JOBS, OUTBOX, to_job
from spark.db.models import JobRow
from spark.domain.jobs import Job, JobState

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
    "request_id",
    "cancel_requested",
    "created_at",
)
_INSERT_JOB = insert(JOBS).values(
    {c: bindparam(f"p_{c}", type_=JOBS.c[c].type) for c in _JOB_INSERT_COLUMNS}
)


def _insert_job_with_outbox() -> Any:
    """INSERT job … RETURNING feeding INSERT outbox: both rows in one statement."""
    inserted = _INSERT_JOB.returning(
        JOBS.c.id, JOBS.c.kind, JOBS.c.priority, JOBS.c.created_at
    ).cte("inserted")
    source = select(
        inserted.c.id, inserted.c.kind, inserted.c.priority, inserted.c.created_at, literal(0)
    )
    return insert(OUTBOX).from_select(["job_id", "kind", "priority", "created_at", "sends"], source)


_INSERT_JOB_WITH_OUTBOX = _insert_job_with_outbox()


# Plain submissions gathered in one turn of the API's event loop, inserted by one statement:
# one array per column, each job inserted only while its owner's month of tokens
# is under its token_limit, its outbox row written beside it; the ids inserted come back.
_INSERT_JOBS_UNDER_QUOTA = text(
    """
WITH v AS (
  SELECT * FROM unnest(
    CAST(:ids AS uuid[]), CAST(:owners AS varchar[]), CAST(:subjects AS varchar[]),
    CAST(:kinds AS varchar[]), CAST(:params AS jsonb[]), CAST(:session_ids AS varchar[]),
    CAST(:project_ids AS uuid[]), CAST(:priorities AS smallint[]),
    CAST(:request_hashes AS varchar[]), CAST(:request_ids AS varchar[]),
    CAST(:created_ats AS timestamptz[]), CAST(:token_limits AS bigint[]),
    CAST(:periods AS varchar[])
  ) AS v(id, owner, subject, kind, params, session_id, project_id, priority, request_hash,
         request_id, created_at, token_limit, period)
), inserted AS (
  INSERT INTO jobs (id, owner, subject, kind, state, params, progress_percent,
                    progress_message, attempts, session_id, project_id, priority,
                    idempotency_key, request_hash, request_id, cancel_requested, created_at)
  SELECT v.id, v.owner, v.subject, v.kind, :state, v.params, 0, '', 0, v.session_id,
         v.project_id, v.priority, NULL, v.request_hash, v.request_id, false, v.created_at
  FROM v LEFT JOIN usage_counters u ON u.owner = v.owner AND u.period = v.period
  WHERE coalesce(u.tokens, 0) < v.token_limit
  RETURNING id, kind, priority, created_at
)
INSERT INTO job_outbox (job_id, kind, priority, created_at, sends)
SELECT id, kind, priority, created_at, 0 FROM inserted
RETURNING job_id
"""
)


@dataclass(frozen=True)
class PlainSubmission:
    """A job to insert under its owner's token quota (token_limit for the month period)."""

    job: Job
    request_hash: str
    token_limit: int
    period: str


def insertion(db: Database, *, checked: bool) -> AbstractContextManager[Session]:
    """Where a submission's checks and insert run: a transaction when checks share it, else
    one autocommit statement (the insert is one)."""
    return db.session() if checked else db.statement()


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
        "p_request_id": job.request_id,
        "p_cancel_requested": False,
        "p_created_at": job.created_at,
    }


def insert_job(s: Session, job: Job, idempotency_key: str | None, request_hash: str) -> None:
    """Insert a queued job and its outbox row, in one statement."""
    s.execute(_INSERT_JOB_WITH_OUTBOX, _values(job, idempotency_key, request_hash))


async def insert_job_now(adb: AsyncDatabase, plain: PlainSubmission) -> bool:
    """insert_job for the API's plain submissions (no Idempotency-Key, no check sharing the
    transaction), if the owner's tokens are under the limit: without a thread hop, and
    concurrent ones in one statement. False when the quota refused it."""
    batcher = adb.batcher("insert-plain-jobs", functools.partial(_insert_plain, adb))
    inserted: bool = await batcher.call(plain)
    return inserted


async def _insert_plain(adb: AsyncDatabase, batch: list[PlainSubmission]) -> list[bool]:
    jobs = [p.job for p in batch]
    rows = await adb.all(
        _INSERT_JOBS_UNDER_QUOTA,
        {
            "ids": [j.id for j in jobs],
            "owners": [j.owner for j in jobs],
            "subjects": [j.subject for j in jobs],
            "kinds": [j.kind.value for j in jobs],
            "params": [dict(j.params) for j in jobs],
            "session_ids": [j.session_id for j in jobs],
            "project_ids": [j.project_id for j in jobs],
            "priorities": [j.priority for j in jobs],
            "request_hashes": [p.request_hash for p in batch],
            "request_ids": [j.request_id for j in jobs],
            "created_ats": [j.created_at for j in jobs],
            "token_limits": [p.token_limit for p in batch],
            "periods": [p.period for p in batch],
            "state": JobState.QUEUED.value,
        },
    )
    inserted = {row.job_id for row in rows}
    return [job.id in inserted for job in jobs]


def find_by_idempotency_key(s: Session, owner: str, key: str) -> tuple[Job, str | None] | None:
    """The owner's job submitted under key, with the hash of the request that made it."""
    row = s.scalars(
        select(JobRow).where(JobRow.owner == owner, JobRow.idempotency_key == key)
    ).one_or_none()
    return (to_job(row), row.request_hash) if row else None
