"""Quotas checked when a job is submitted (LLM tokens per month, concurrent builds) and when
a session opens (concurrent sessions).

Which kinds each quota applies to is the kind registry's (`spark/kinds.py`); submission
(`spark/jobs/submit.py`) calls these checks. The build slot is checked inside the
transaction that inserts the build, so ten builds submitted at once against a quota of one
admit exactly one; the token quota is a condition of the insert itself. The per-day request quota
is the rate limiter's (spark/security/limits.py), counted on every request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from spark.config import TierLimits
from spark.db import sessions as session_queries
from spark.db import usage as usage_queries
from spark.db.executor import Executor, Transaction
from spark.errors import QuotaExceeded
from spark.kinds import Quota, kinds_with

#: a build's end cannot be predicted: callers are told to look again after this long
BUILD_RETRY_AFTER_S = 30
#: nor a session's: one ends when its user ends it, or once it has been idle
SESSION_RETRY_AFTER_S = 60


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


def tokens_exceeded(limit: int, used: int, now: datetime) -> QuotaExceeded:
    """The refusal of an LLM job whose owner's month of tokens reached limit.

    The rule itself is part of the statement that inserts jobs (spark/db/submissions.py), so
    concurrent submissions and the batched ones check it the same way; approximate by the
    jobs still running (tokens are charged when jobs end).
    """
    return exceeded("LLM tokens per month", limit, max(used, limit), seconds_to_next_month(now))


def hold_build_slot(tx: Transaction, owner: str, limits: TierLimits) -> None:
    """Refuse a build when the owner's builds already fill the tier; call in the inserting
    transaction, whose lock makes concurrent submissions count one after another."""
    usage_queries.lock_owner(tx, owner)
    running = active_builds(tx, owner)
    if running >= limits.concurrent_builds:
        raise exceeded("concurrent builds", limits.concurrent_builds, running, BUILD_RETRY_AFTER_S)


def hold_session_slot(tx: Transaction, owner: str, limits: TierLimits) -> None:
    """Refuse a new session while the owner's open sessions fill the tier; call in the
    transaction that inserts it, whose lock makes every API process count one at a time."""
    usage_queries.lock_owner(tx, owner)
    open_now = session_queries.count_open(tx, owner)
    if open_now >= limits.concurrent_sessions:
        raise exceeded(
            "concurrent sessions", limits.concurrent_sessions, open_now, SESSION_RETRY_AFTER_S
        )


def active_builds(q: Executor, owner: str) -> int:
    """The owner's queued and running jobs of the kinds that take a build slot."""
    return usage_queries.active_jobs(q, owner, kinds_with(Quota.CONCURRENT_BUILDS))
