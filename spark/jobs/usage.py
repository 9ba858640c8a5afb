"""What jobs use: a finished job's usage record (written by the job's end, once per job), a
user's usage so far as the API reports it, and every user's calls and cost in a month."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from spark.db import calls as call_queries
from spark.db import rollups
from spark.db import usage as usage_queries
from spark.db.executor import Database
from spark.domain.jobs import Job
from spark.security import quotas


@dataclass(frozen=True)
class UserUsage:
    """A user's tokens and jobs this month, builds taking a slot now, and tokens by hour."""

    tokens: int
    jobs: int
    active_builds: int
    history: Sequence[rollups.TokenHour]
    #: what the month's LLM calls cost (their call records, priced as each was made)
    cost: float = 0.0


def usage_of(job: Job) -> usage_queries.UsageRecord:
    """What the job used, from its recorded result (tokens, model) and its times."""
    result: Mapping[str, Any] = job.result or {}
    raw = result.get("tokens")
    tokens: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    finished = job.finished_at or job.created_at
    started = job.started_at or finished
    model = result.get("model")
    return usage_queries.UsageRecord(
        job_id=job.id,
        owner=job.owner,
        kind=job.kind.value,
        state=job.state.value,
        model=str(model)[:255] if model else None,
        tokens_in=_count(tokens.get("prompt")),
        tokens_out=_count(tokens.get("completion")),
        duration_ms=max(0, int((finished - started).total_seconds() * 1000)),
        created_at=finished,
        period=finished.strftime("%Y-%m"),
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def user_usage(db: Database, user: str, period: str, since: datetime | None) -> UserUsage:
    """user's usage in period (YYYY-MM) and now, with the hourly token history from since
    (none when None), read in one transaction on the replica if there is one."""
    start, end = month_bounds(period)
    with db.read() as tx:
        tokens, jobs = usage_queries.month_usage(tx, user, period)
        history = rollups.token_history(tx, user, since) if since is not None else []
        cost = call_queries.totals_of(tx, user, start, end).cost
        return UserUsage(tokens, jobs, quotas.active_builds(tx, user), history, cost)


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """The first instant of the month period (YYYY-MM, UTC) and of the next."""
    start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
    # day 1 plus 32 days always lands in the next month, whatever this month's length
    return start, (start + timedelta(days=32)).replace(day=1)


def usage_by_user(db: Database, period: str) -> Sequence[call_queries.CallTotals]:
    """Every user's calls, tokens and cost in the month period (YYYY-MM), most tokens first:
    the rolled-up hours and the raw call records after them."""
    start, end = month_bounds(period)
    with db.read() as tx:
        return call_queries.totals_by_owner(tx, start, end)
