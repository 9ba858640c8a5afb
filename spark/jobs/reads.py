"""Reading jobs for their owners: one job, a page of them, whether one has ended.

Each read is one read-only transaction on the replica when there is one (a poll that sees
a job a moment late is harmless); the API's single-job poll has its own batched path on
the async pool (spark.db.jobs.read_owned_job).
"""

from __future__ import annotations

import uuid

from spark.db import jobs as job_queries
from spark.db.executor import Database
from spark.domain.jobs import Job


def owned(db: Database, job_id: uuid.UUID, owner: str) -> Job | None:
    """owner's job, or None when there is none or another user owns it."""
    with db.read() as tx:
        return job_queries.get_job(tx, job_id, owner)


def has_ended(db: Database, job_id: uuid.UUID) -> bool:
    """Whether the job is in a terminal state (or gone, which ends anything waiting on it)."""
    with db.read() as tx:
        job = job_queries.get_job(tx, job_id)
    return job is None or job.state.terminal


def page(
    db: Database,
    owner: str,
    filters: job_queries.JobFilters,
    limit: int,
    after: job_queries.Cursor | None,
) -> list[Job]:
    """Up to limit of owner's jobs matching filters, newest first, after the cursor."""
    with db.read() as tx:
        return job_queries.list_jobs(tx, owner, filters, limit, after)
