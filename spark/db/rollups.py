"""Hourly rollups: jobs by kind and state, LLM tokens by user and model, builds by target
and result — what the raw rows said, kept after retention prunes them.

Rolling up an hour replaces that hour's rows, so rolling it up again (a late commit, a
second beat) gives the same rows, never doubled ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from spark.db.models import (
    BuildsHourRow,
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


def hour_floor(ts: datetime) -> datetime:
    """The start of ts's hour."""
    return ts.replace(minute=0, second=0, microsecond=0)


def _hour(column: Any) -> ColumnElement[Any]:
    return func.date_trunc("hour", column, "UTC")


def _seconds(start: Any, end: Any) -> ColumnElement[Any]:
    return func.extract("epoch", end - start)


def _pct(fraction: float, value: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.percentile_cont(fraction).within_group(value)


def mark(s: Session) -> datetime | None:
    """Every hour before this is rolled up (None before the first run)."""
    return s.scalar(select(RollupMarkRow.rolled_until).where(RollupMarkRow.name == _MARK))


def first_hour(s: Session) -> datetime | None:
    """The hour of the oldest raw row a rollup reads, or None if there is none."""
    oldest = [
        s.scalar(select(func.min(JobRow.finished_at))),
        s.scalar(select(func.min(UsageRecordRow.created_at))),
    ]
    found = [ts for ts in oldest if ts is not None]
    return hour_floor(min(found)) if found else None


def roll_up(s: Session, start: datetime, end: datetime) -> None:
    """Replace the rollups of the hours in [start, end) with what the raw rows say, and move
    the mark to end if it is behind."""
    for table in (JobsHourRow, TokensHourRow, BuildsHourRow):
        s.execute(delete(table).where(table.hour >= start, table.hour < end))
    _roll_jobs(s, start, end)
    _roll_tokens(s, start, end)
    _roll_builds(s, start, end)
    current = mark(s)
    if current is None:
        s.execute(insert(RollupMarkRow).values(name=_MARK, rolled_until=end))
    elif current < end:
        s.execute(update(RollupMarkRow).where(RollupMarkRow.name == _MARK).values(rolled_until=end))


def _ended_between(start: datetime, end: datetime) -> ColumnElement[bool]:
    return JobRow.state.in_(_ENDED) & (JobRow.finished_at >= start) & (JobRow.finished_at < end)


def _roll_jobs(s: Session, start: datetime, end: datetime) -> None:
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
    s.execute(insert(JobsHourRow).from_select(columns, query))


def _roll_tokens(s: Session, start: datetime, end: datetime) -> None:
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
    s.execute(insert(TokensHourRow).from_select(columns, query))


def _roll_builds(s: Session, start: datetime, end: datetime) -> None:
    hour = _hour(JobRow.finished_at).label("hour")
    target = _JOBS.c.params["target"].as_string().label("target")
    run = _seconds(JobRow.started_at, JobRow.finished_at)
    query = (
        select(hour, target, JobRow.state, func.count(), _pct(0.95, run))
        .where(_ended_between(start, end), JobRow.kind == JobKind.UNITY_BUILD.value)
        .group_by(hour, target, JobRow.state)
    )
    s.execute(
        insert(BuildsHourRow).from_select(
            ["hour", "target", "result", "builds", "duration_p95_s"], query
        )
    )


def token_history(s: Session, owner: str, since: datetime) -> Sequence[TokenHour]:
    """The owner's rolled-up tokens per hour and model since `since`, oldest first."""
    rows = s.execute(
        select(TokensHourRow)
        .where(TokensHourRow.owner == owner, TokensHourRow.hour >= since)
        .order_by(TokensHourRow.hour, TokensHourRow.model)
    ).scalars()
    return [TokenHour(r.hour, r.model, r.jobs, r.tokens_in, r.tokens_out) for r in rows]
