"""Named queries for call records: every LLM and tool call, as written, and the month's
tokens and cost per user read from the hourly rollup up to its mark and the raw rows after."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BindParameter, Table, bindparam, func, literal, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert

from spark.db.executor import Executor, Sql, compiled
from spark.db.models import CallRow, CallsHourRow, RollupMarkRow


@dataclass(frozen=True)
class StoredCall:
    """One call as recorded, priced."""

    id: uuid.UUID
    ts: datetime
    owner: str
    session_id: str | None
    job_id: uuid.UUID | None
    kind: str
    name: str
    model: str | None
    status: str
    duration_s: float
    tokens_in: int
    tokens_out: int
    cost: float


@dataclass(frozen=True)
class CallTotals:
    """A user's calls, tokens and cost over a stretch of time."""

    owner: str
    calls: int
    tokens_in: int
    tokens_out: int
    cost: float


CALLS = cast(Table, CallRow.__table__)
_HOURS = cast(Table, CallsHourRow.__table__)
_MARKS = cast(Table, RollupMarkRow.__table__)
_INSERT = compiled(
    pg_insert(CALLS)
    .values({c.name: bindparam(c.name) for c in CALLS.c})
    .on_conflict_do_nothing(index_elements=["id"])
    .returning(CALLS.c.id)
)


def insert_call(q: Executor, call: StoredCall) -> bool:
    """Append one call record; False when a record with its id is there already."""
    return q.one(_INSERT, {c.name: getattr(call, c.name) for c in CALLS.c}) is not None


_OF_JOB = compiled(select(CALLS).where(CALLS.c.job_id == bindparam("job_id")).order_by(CALLS.c.ts))
_OF_SESSION = compiled(
    select(CALLS)
    .where(CALLS.c.owner == bindparam("owner"), CALLS.c.session_id == bindparam("session_id"))
    .order_by(CALLS.c.ts)
)


def calls_of_job(q: Executor, job_id: uuid.UUID) -> list[StoredCall]:
    """The job's calls, oldest first."""
    return [StoredCall(**row._asdict()) for row in q.all(_OF_JOB, {"job_id": job_id})]


def calls_of_session(q: Executor, owner: str, session_id: str) -> list[StoredCall]:
    """The owner's calls in the session, oldest first (raw rows: retention prunes them)."""
    params = {"owner": owner, "session_id": session_id}
    return [StoredCall(**row._asdict()) for row in q.all(_OF_SESSION, params)]


_SESSION_TOTALS = compiled(
    select(
        CALLS.c.owner,
        func.count().label("calls"),
        func.coalesce(func.sum(CALLS.c.tokens_in), 0).label("tokens_in"),
        func.coalesce(func.sum(CALLS.c.tokens_out), 0).label("tokens_out"),
        func.coalesce(func.sum(CALLS.c.cost), 0.0).label("cost"),
    )
    .where(CALLS.c.owner == bindparam("owner"), CALLS.c.session_id == bindparam("session_id"))
    .group_by(CALLS.c.owner)
)


def session_totals(q: Executor, owner: str, session_id: str) -> CallTotals:
    """The owner's calls, tokens and cost in the session (raw rows: kept as long as usage)."""
    row = q.one(_SESSION_TOTALS, {"owner": owner, "session_id": session_id})
    return _totals_of(row) if row is not None else CallTotals(owner, 0, 0, 0, 0.0)


def _totals(one_owner: bool) -> Sql:
    start: BindParameter[datetime] = bindparam("start")
    end: BindParameter[datetime] = bindparam("end")
    # Hours before the mark are in the rollup; the raw rows from the mark on are not yet.
    mark = func.coalesce(
        select(_MARKS.c.rolled_until).where(_MARKS.c.name == "hourly").scalar_subquery(), start
    )
    h, c = _HOURS.c, CALLS.c
    rolled = select(h.owner, h.calls, h.tokens_in, h.tokens_out, h.cost).where(
        h.hour >= start, h.hour < func.least(end, mark)
    )
    raw = select(c.owner, literal(1).label("calls"), c.tokens_in, c.tokens_out, c.cost).where(
        c.ts >= func.greatest(start, mark), c.ts < end
    )
    if one_owner:
        rolled = rolled.where(h.owner == bindparam("owner"))
        raw = raw.where(c.owner == bindparam("owner"))
    both = union_all(rolled, raw).subquery()
    tokens = func.sum(both.c.tokens_in) + func.sum(both.c.tokens_out)
    query = (
        select(
            both.c.owner,
            func.sum(both.c.calls).label("calls"),
            func.sum(both.c.tokens_in).label("tokens_in"),
            func.sum(both.c.tokens_out).label("tokens_out"),
            func.sum(both.c.cost).label("cost"),
        )
        .group_by(both.c.owner)
        .order_by(tokens.desc(), both.c.owner)
    )
    return compiled(query)


_TOTALS_ALL, _TOTALS_ONE = _totals(False), _totals(True)


def _totals_of(row: Any) -> CallTotals:
    return CallTotals(
        row.owner, int(row.calls), int(row.tokens_in), int(row.tokens_out), float(row.cost)
    )


def totals_by_owner(q: Executor, start: datetime, end: datetime) -> Sequence[CallTotals]:
    """Every user's calls, tokens and cost in [start, end), most tokens first."""
    return [_totals_of(row) for row in q.all(_TOTALS_ALL, {"start": start, "end": end})]


def totals_of(q: Executor, owner: str, start: datetime, end: datetime) -> CallTotals:
    """owner's calls, tokens and cost in [start, end)."""
    row = q.one(_TOTALS_ONE, {"owner": owner, "start": start, "end": end})
    return _totals_of(row) if row is not None else CallTotals(owner, 0, 0, 0, 0.0)
