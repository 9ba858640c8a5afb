"""Quotas checked when a job is submitted: LLM tokens per month and concurrent builds.

The build slot is checked inside the transaction that inserts the build, so ten builds
submitted at once against a quota of one admit exactly one; the token quota is one read
before the insert. The per-day request quota is the rate limiter's
(spark/security/limits.py), counted on every request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from spark.config import TierLimits
from spark.db import usage as usage_queries
from spark.db.engine import Database
from spark.domain.jobs import JobKind
from spark.errors import QuotaExceeded

Guard = Callable[[Session], None]

#: kinds that spend LLM tokens, and so stop when the monthly token quota is used up
LLM_KINDS = frozenset({JobKind.GENERATE_SCRIPT})
#: a build's end cannot be predicted: callers are told to look again after this long
BUILD_RETRY_AFTER_S = 30


def month_of(now: datetime) -> str:
    """The usage counter period (YYYY-MM, UTC) that now falls in."""
    return now.astimezone(UTC).strftime("%Y-%m")


def seconds_to_next_month(now: datetime) -> int:
    """Whole seconds until the next calendar month starts (UTC), at least 1."""
    now = now.astimezone(UTC)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (first + timedelta(days=32)).replace(day=1)
    return max(1, int((following - now).total_seconds()) + 1)


def exceeded(what: str, limit: int, used: int, retry_after_s: int) -> QuotaExceeded:
    """A 429 quota_exceeded carrying Retry-After and the RateLimit-* headers."""
    headers = {
        "Retry-After": str(retry_after_s),
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(retry_after_s),
    }
    details = {"quota": what, "limit": limit, "used": used, "retry_after_s": retry_after_s}
    return QuotaExceeded(f"quota exceeded: {limit} {what}", details=details, headers=headers)


def guard_for(kind: JobKind, owner: str, limits: TierLimits) -> Guard | None:
    """The check that must run in the transaction inserting a job of kind, or None."""
    if kind is JobKind.UNITY_BUILD:
        return lambda s: _hold_build_slot(s, owner, limits.concurrent_builds)
    return None


def check_tokens(
    db: Database, kind: JobKind, owner: str, limits: TierLimits, now: datetime
) -> None:
    """Refuse an LLM job once the month's tokens reach the quota.

    A read of its own, not part of the insert: tokens are charged when jobs end, so the
    check is approximate by the jobs still running anyway, and the insert stays one
    self-contained statement (three round trips fewer per submission).
    """
    if kind not in LLM_KINDS:
        return
    with db.statement() as s:
        _check_tokens(s, owner, limits.tokens_per_month, now)


def _hold_build_slot(s: Session, owner: str, limit: int) -> None:
    usage_queries.lock_owner(s, owner)
    running = usage_queries.active_builds(s, owner)
    if running >= limit:
        raise exceeded("concurrent builds", limit, running, BUILD_RETRY_AFTER_S)


def _check_tokens(s: Session, owner: str, limit: int, now: datetime) -> None:
    tokens, _ = usage_queries.month_usage(s, owner, month_of(now))
    if tokens >= limit:
        raise exceeded("LLM tokens per month", limit, tokens, seconds_to_next_month(now))
