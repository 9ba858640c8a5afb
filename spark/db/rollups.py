"""Hourly rollups: jobs by kind and state, LLM tokens by user and model, builds by target
and result, calls' tokens and cost by user and model — what the raw rows said, kept after
retention prunes them.

Rolling up an hour replaces that hour's rows, so rolling it up again (a late commit, a
second beat) gives the same rows, never doubled ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import BindParameter, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.sql import ColumnElement

from spark.db.executor import Executor, Transaction, compiled
from spark.db.models import (
    BuildsHourRow,
    CallRow,
    CallsHourRow,
    JobRow,
    JobsHourRow,
    RollupMarkRow,
    TokensHourRow,
    UsageRecordRow,
)
from spark.domain.jobs import TERMINAL_STATES, JobKind

HOUR = timedelta(hours=1)
#: hours before the mark rolled up again on every run: a job's end stamped in one hour may
#: commit in the next, and retention keeps these hours' raw rows for it
REROLL = timedelta(hours=2)
#: the most hours one transaction rolls up, so a first run over months of rows stays short
CHUNK = timedelta(days=1)
_MARK = "hourly"
_ENDED = sorted(state.value for state in TERMINAL_STATES)
_JOBS = cast(Table, JobRow.__table__)


@dataclass(frozen=True)
class TokenHour:
    """One hour of a user's tokens on one model."""

    hour: datetime
    model: str
    jobs: int
    tokens_in: int
    tokens_out: int
    #: what the user's calls on the model cost in the hour (the calls rollup)
    cost: float = 0.0


def hour_floor(ts: datetime) -> datetime:
    """The start of ts's hour."""
    return ts.replace(minute=0, second=0, microsecond=0)


def _hour(column: Any) -> ColumnElement[Any]:
    return func.date_trunc("hour", column, "UTC")


def _seconds(start: Any, end: Any) -> ColumnElement[Any]:
    return func.extract("epoch", end - start)


def _pct(fraction: float, value: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.percentile_cont(fraction).within_group(value)


_MARKS = cast(Table, RollupMarkRow.__table__)
_MARK_AT = compiled(select(_MARKS.c.rolled_until).where(_MARKS.c.name == _MARK))
_OLDEST = compiled(
    select(
        select(func.min(JobRow.finished_at)).scalar_subquery(),
        select(func.min(UsageRecordRow.created_at)).scalar_subquery(),
        select(func.min(CallRow.ts)).scalar_subquery(),
    )
)
_NEW_MARK = compiled(insert(_MARKS).values(name=_MARK, rolled_until=bindparam("end")))
_MOVE_MARK = compiled(
    update(_MARKS).where(_MARKS.c.name == _MARK).values(rolled_until=bindparam("end"))
)


def mark(q: Executor) -> datetime | None:
    """Every hour before this is rolled up (None before the first run)."""
    found: datetime | None = q.scalar(_MARK_AT)
    return found


def first_hour(q: Executor) -> datetime | None:
    """The hour of the oldest raw row a rollup reads, or None if there is none."""
    found = [ts for ts in q.one(_OLDEST) if ts is not None]
    return hour_floor(min(found)) if found else None


def roll_up(tx: Transaction, start: datetime, end: datetime) -> None:
    """Replace the rollups of the hours in [start, end) with what the raw rows say, and move
    the mark to end if it is behind."""
    for model in (JobsHourRow, TokensHourRow, BuildsHourRow, CallsHourRow):
        table = cast(Table, model.__table__)
        tx.run(delete(table).where(table.c.hour >= start, table.c.hour < end))
    _roll_jobs(tx, start, end)
    _roll_tokens(tx, start, end)
    _roll_builds(tx, start, end)
    _roll_calls(tx, start, end)
    current = mark(tx)
    if current is None:
        tx.run(_NEW_MARK, {"end": end})
    elif current < end:
        tx.run(_MOVE_MARK, {"end": end})


def _ended_between(start: datetime, end: datetime) -> ColumnElement[bool]:
    return JobRow.state.in_(_ENDED) & (JobRow.finished_at >= start) & (JobRow.finished_at < end)


def _roll_jobs(tx: Transaction, start: datetime, end: datetime) -> None:
    hour = _hour(JobRow.finished_at).label("hour")
    run = _seconds(JobRow.started_at, JobRow.finished_at)
    wait = _seconds(JobRow.created_at, JobRow.started_at)
    query = (
        select(
            hour,
            JobRow.kind,
            JobRow.state,
            func.count(),
            _pct(0.5, run),
            _pct(0.95, run),
            _pct(0.5, wait),
            _pct(0.95, wait),
        )
        .where(_ended_between(start, end))
        .group_by(hour, JobRow.kind, JobRow.state)
    )
    columns = ["hour", "kind", "state", "jobs"]
    columns += ["duration_p50_s", "duration_p95_s", "wait_p50_s", "wait_p95_s"]
    tx.run(insert(JobsHourRow).from_select(columns, query))


def _roll_tokens(tx: Transaction, start: datetime, end: datetime) -> None:
    hour = _hour(UsageRecordRow.created_at).label("hour")
    model = func.coalesce(UsageRecordRow.model, "").label("model")
    query = (
        select(
            hour,
            UsageRecordRow.owner,
            model,
            func.count(),
            func.sum(UsageRecordRow.tokens_in),
            func.sum(UsageRecordRow.tokens_out),
        )
        .where(UsageRecordRow.created_at >= start, UsageRecordRow.created_at < end)
        .group_by(hour, UsageRecordRow.owner, model)
    )
    columns = ["hour", "owner", "model", "jobs", "tokens_in", "tokens_out"]
    tx.run(insert(TokensHourRow).from_select(columns, query))


def _roll_builds(tx: Transaction, start: datetime, end: datetime) -> None:
    hour = _hour(JobRow.finished_at).label("hour")
    target = _JOBS.c.params["target"].as_string().label("target")
    run = _seconds(JobRow.started_at, JobRow.finished_at)
    query = (
        select(hour, target, JobRow.state, func.count(), _pct(0.95, run))
        .where(_ended_between(start, end), JobRow.kind == JobKind.UNITY_BUILD.value)
        .group_by(hour, target, JobRow.state)
    )
    tx.run(
        insert(BuildsHourRow).from_select(
            ["hour", "target", "result", "builds", "duration_p95_s"], query
        )
    )


def _roll_calls(tx: Transaction, start: datetime, end: datetime) -> None:
    hour = _hour(CallRow.ts).label("hour")
    model = func.coalesce(CallRow.model, "").label("model")
    query = (
        select(
            hour,
            CallRow.owner,
            model,
            func.count(),
            func.sum(CallRow.tokens_in),
            func.sum(CallRow.tokens_out),
            func.sum(CallRow.cost),
        )
        .where(CallRow.ts >= start, CallRow.ts < end)
        .group_by(hour, CallRow.owner, model)
    )
    columns = ["hour", "owner", "model", "calls", "tokens_in", "tokens_out", "cost"]
    tx.run(insert(CallsHourRow).from_select(columns, query))


def _token_history() -> Any:
    tokens, costs = cast(Table, TokensHourRow.__table__), cast(Table, CallsHourRow.__table__)
    owner: BindParameter[str] = bindparam("owner")
    since: BindParameter[datetime] = bindparam("since")
    t = select(tokens).where(tokens.c.owner == owner, tokens.c.hour >= since).subquery()
    c = select(costs).where(costs.c.owner == owner, costs.c.hour >= since).subquery()
    # Full join: a job's tokens count in the hour it ended, its calls' cost in the hours
    # they were made, so an hour may have one without the other.
    both = t.join(c, (t.c.hour == c.c.hour) & (t.c.model == c.c.model), full=True)
    hour = func.coalesce(t.c.hour, c.c.hour).label("hour")
    model = func.coalesce(t.c.model, c.c.model).label("model")
    return compiled(
        select(
            hour,
            model,
            func.coalesce(t.c.jobs, 0).label("jobs"),
            func.coalesce(t.c.tokens_in, 0).label("tokens_in"),
            func.coalesce(t.c.tokens_out, 0).label("tokens_out"),
            func.coalesce(c.c.cost, 0.0).label("cost"),
        )
        .select_from(both)
        .order_by(hour, model)
    )


_TOKEN_HISTORY = _token_history()


def token_history(q: Executor, owner: str, since: datetime) -> Sequence[TokenHour]:
    """The owner's rolled-up tokens and cost per hour and model since `since`, oldest first."""
    rows = q.all(_TOKEN_HISTORY, {"owner": owner, "since": since})
    return [
        TokenHour(r.hour, r.model, r.jobs, r.tokens_in, r.tokens_out, float(r.cost)) for r in rows
    ]
