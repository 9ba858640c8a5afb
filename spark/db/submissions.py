"""Named statements for submitting jobs: the job rows with their outbox rows under the token
quota, and the lookup of an earlier submission under the same Idempotency-Key."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, text

from spark.db.aio import AsyncDatabase
from spark.db.executor import Database, Executor, Transaction, compiled
from spark.db.jobs import JOBS, to_job
from spark.domain.jobs import Job, JobState

# Submissions, one or a batch gathered in one turn of the API's event loop, inserted by one
# statement: one array per column, each job inserted only while its owner's month of tokens
# is under its token_limit (the token quota's one rule), its outbox row written beside it;
# the ids inserted come back.
_INSERT_JOBS = compiled(
    text(
        """
WITH v AS (
  SELECT * FROM unnest(
    CAST(:ids AS uuid[]), CAST(:owners AS varchar[]), CAST(:subjects AS varchar[]),
    CAST(:kinds AS varchar[]), CAST(:params AS jsonb[]), CAST(:session_ids AS varchar[]),
    CAST(:project_ids AS uuid[]), CAST(:parent_ids AS uuid[]), CAST(:priorities AS smallint[]),
    CAST(:idempotency_keys AS varchar[]), CAST(:request_hashes AS varchar[]),
    CAST(:request_ids AS varchar[]), CAST(:created_ats AS timestamptz[]),
    CAST(:token_limits AS bigint[]), CAST(:periods AS varchar[]),
    CAST(:queues AS varchar[]), CAST(:messages AS varchar[])
  ) AS v(id, owner, subject, kind, params, session_id, project_id, parent_id, priority,
         idempotency_key, request_hash, request_id, created_at, token_limit, period, queue, message)
), inserted AS (
  INSERT INTO jobs (id, owner, subject, kind, state, params, progress_percent,
                    progress_message, attempts, session_id, project_id, parent_id, priority,
                    idempotency_key, request_hash, request_id, cancel_requested, created_at)
  SELECT v.id, v.owner, v.subject, v.kind, :state, v.params, 0, v.message, 0, v.session_id,
         v.project_id, v.parent_id, v.priority, v.idempotency_key, v.request_hash, v.request_id,
         false, v.created_at
  FROM v LEFT JOIN usage_counters u ON u.owner = v.owner AND u.period = v.period
  WHERE coalesce(u.tokens, 0) < v.token_limit
  RETURNING id, kind, priority, created_at
)
INSERT INTO job_outbox (job_id, kind, priority, created_at, sends, queue)
SELECT i.id, i.kind, i.priority, i.created_at, 0, v.queue FROM inserted i JOIN v ON v.id = i.id
RETURNING job_id
"""
    )
)


#: a token limit no owner reaches (kinds the token quota does not apply to)
NO_LIMIT = 2**62


@dataclass(frozen=True)
class Submission:
    """A queued job to insert under its owner's token quota (token_limit for the month period)."""

    job: Job
    request_hash: str
    idempotency_key: str | None = None
    token_limit: int = NO_LIMIT
    period: str = ""
    #: the broker queue its message goes to (None: its kind's)
    queue: str | None = None


def insertion(db: Database, *, checked: bool) -> AbstractContextManager[Transaction]:
    """Where a submission's checks and insert run: a transaction when checks share it, else
    one autocommit statement (the insert is one)."""
    return db.transaction() if checked else db.autocommit()


def insert_jobs(q: Executor, batch: Sequence[Submission]) -> list[bool]:
    """Insert each queued job with its outbox row, under its quota: whether each went in
    (False: the token quota refused it); UniqueViolation for a reused Idempotency-Key."""
    return _inserted(batch, q.all(_INSERT_JOBS, _columns(batch)))


async def insert_job_now(adb: AsyncDatabase, submission: Submission) -> bool:
    """insert_jobs for the API's plain submissions (no Idempotency-Key, no check sharing the
    transaction): without a thread hop, and concurrent ones in one statement."""
    batcher = adb.batcher("insert-plain-jobs", functools.partial(_insert_plain, adb))
    inserted: bool = await batcher.call(submission)
    return inserted


async def _insert_plain(adb: AsyncDatabase, batch: list[Submission]) -> list[bool]:
    return _inserted(batch, await adb.all(_INSERT_JOBS, _columns(batch)))


def _inserted(batch: Sequence[Submission], rows: Sequence[Any]) -> list[bool]:
    inserted = {row.job_id for row in rows}
    return [s.job.id in inserted for s in batch]


def _columns(batch: Sequence[Submission]) -> dict[str, Any]:
    jobs = [p.job for p in batch]
    return {
        "ids": [j.id for j in jobs],
        "owners": [j.owner for j in jobs],
        "subjects": [j.subject for j in jobs],
        "kinds": [j.kind.value for j in jobs],
        "params": [dict(j.params) for j in jobs],
        "session_ids": [j.session_id for j in jobs],
        "project_ids": [j.project_id for j in jobs],
        "parent_ids": [j.parent_id for j in jobs],
        "priorities": [j.priority for j in jobs],
        "idempotency_keys": [p.idempotency_key for p in batch],
        "request_hashes": [p.request_hash for p in batch],
        "request_ids": [j.request_id for j in jobs],
        "created_ats": [j.created_at for j in jobs],
        "token_limits": [p.token_limit for p in batch],
        "periods": [p.period for p in batch],
        "queues": [p.queue for p in batch],
        "messages": [j.progress.message for j in jobs],
        "state": JobState.QUEUED.value,
    }


_BY_IDEMPOTENCY_KEY = compiled(
    select(JOBS).where(
        JOBS.c.owner == bindparam("owner"), JOBS.c.idempotency_key == bindparam("key")
    )
)


def find_by_idempotency_key(q: Executor, owner: str, key: str) -> tuple[Job, str | None] | None:
    """The owner's job submitted under key, with the hash of the request that made it."""
    row = q.one(_BY_IDEMPOTENCY_KEY, {"owner": owner, "key": key})
    return (to_job(row), row.request_hash) if row else None
