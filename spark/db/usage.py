"""Named queries for usage and quotas: per-job usage records, monthly counters, build slots."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ARRAY, String, Table, any_, bindparam, func, select, text

from spark.db.aio import AsyncDatabase
from spark.db.executor import Executor, Transaction, compiled
from spark.db.models import JobRow, UsageCounterRow
from spark.domain.jobs import JobKind, JobState

_UNFINISHED = [JobState.QUEUED.value, JobState.RUNNING.value]


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


_COUNTERS = cast(Table, UsageCounterRow.__table__)
_JOBS = cast(Table, JobRow.__table__)

_MONTH_USAGE = compiled(
    select(_COUNTERS.c.tokens, _COUNTERS.c.jobs).where(
        _COUNTERS.c.owner == bindparam("owner"), _COUNTERS.c.period == bindparam("period")
    )
)


def month_usage(q: Executor, owner: str, period: str) -> tuple[int, int]:
    """The owner's (tokens, jobs) in the month period (YYYY-MM)."""
    row = q.one(_MONTH_USAGE, {"owner": owner, "period": period})
    return (int(row.tokens), int(row.jobs)) if row else (0, 0)


async def read_month_usage(adb: AsyncDatabase, owner: str, period: str) -> tuple[int, int]:
    """month_usage for the API's submissions, without a thread hop."""
    row = await adb.one(_MONTH_USAGE, {"owner": owner, "period": period})
    return (int(row.tokens), int(row.jobs)) if row else (0, 0)


_ACTIVE_JOBS = compiled(
    select(func.count()).where(
        _JOBS.c.owner == bindparam("owner"),
        _JOBS.c.kind == any_(bindparam("kinds", type_=ARRAY(String()))),
        _JOBS.c.state == any_(bindparam("unfinished", _UNFINISHED, type_=ARRAY(String()))),
    )
)


def active_jobs(q: Executor, owner: str, kinds: Collection[JobKind]) -> int:
    """The owner's jobs of these kinds that are queued or running."""
    return int(q.scalar(_ACTIVE_JOBS, {"owner": owner, "kinds": [k.value for k in kinds]}))


_LOCK_OWNER = compiled(text("SELECT pg_advisory_xact_lock(hashtext(:owner))"))


def lock_owner(tx: Transaction, owner: str) -> None:
    """Serialise this transaction with the owner's other quota-checked submissions."""
    tx.run(_LOCK_OWNER, {"owner": owner})
