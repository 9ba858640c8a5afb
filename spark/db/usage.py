"""Named queries for usage and quotas: per-job usage records, monthly counters, build slots."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from spark.db.aio import AsyncDatabase
from spark.db.models import JobRow, UsageCounterRow
from spark.domain.jobs import JobKind, JobState

_UNFINISHED = (JobState.QUEUED.value, JobState.RUNNING.value)


@dataclass(frozen=True)
class UsageRecord:
    """What one finished job used (its end charges it: spark/db/running.py)."""

    job_id: uuid.UUID
    owner: str
    kind: str
    state: str
    model: str | None
    tokens_in: int
    tokens_out: int
    duration_ms: int
    created_at: datetime
    #: YYYY-MM of created_at, the counter it adds to
    period: str


_MONTH_USAGE = select(UsageCounterRow.tokens, UsageCounterRow.jobs).where(
    UsageCounterRow.owner == bindparam("owner"), UsageCounterRow.period == bindparam("period")
)


def month_usage(s: Session, owner: str, period: str) -> tuple[int, int]:
    """The owner's (tokens, jobs) in the month period (YYYY-MM)."""
    row = s.execute(_MONTH_USAGE, {"owner": owner, "period": period}).first()
    return (int(row.tokens), int(row.jobs)) if row else (0, 0)


def active_jobs(s: Session, owner: str, kinds: Collection[JobKind]) -> int:
    """The owner's jobs of these kinds that are queued or running."""
    query = select(func.count()).where(
        JobRow.owner == owner,
        JobRow.kind.in_([kind.value for kind in kinds]),
        JobRow.state.in_(_UNFINISHED),
    )
    return int(s.execute(query).scalar_one())


def lock_owner(s: Session, owner: str) -> None:
    """Serialise this transaction with the owner's other quota-checked submissions."""
    s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:owner))"), {"owner": owner})


async def read_month_usage(adb: AsyncDatabase, owner: str, period: str) -> tuple[int, int]:
    """month_usage for the API's submissions, without a thread hop."""
    row = await adb.one(_MONTH_USAGE, {"owner": owner, "period": period})
    return (int(row.tokens), int(row.jobs)) if row else (0, 0)
