"""Rate limits and the daily request quota (CONTRACT §4, §6): the port, its decision, its 429s.

Each request is one atomic `hit`: the user's daily quota is checked first, then the sliding
60-second window of the (user, route family) pair; a refused request counts against neither.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

from spark.errors import AppError, QuotaExceeded, RateLimited

Reason = Literal["ok", "rate_limited", "quota_exceeded"]

#: what one request of each route family is called in a 429's message
_UNITS = {"submit": "job submissions", "write": "writes", "read": "reads"}


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit; limit, remaining and reset_s always describe the minute window."""

    allowed: bool
    reason: Reason
    #: the family's per-minute limit
    limit: int
    #: hits the window still admits (after counting this one)
    remaining: int
    #: seconds until the oldest hit in the window leaves it (0 when the window is empty)
    reset_s: int
    #: 0 when allowed; else seconds until a retry can succeed (a window slot, or UTC midnight)
    retry_after_s: int
    #: the user's requests counted today (UTC), across every family
    requests_today: int
    family: str = ""
    per_day: int = 0


class LimitStore(Protocol):
    """Counts requests per user: a sliding window per route family and a counter per UTC day."""

    async def hit(self, user: str, family: str, per_minute: int, per_day: int) -> Decision:
        """Check the quota, then the window, and count the hit in both only if it is allowed."""
        ...

    async def requests_today(self, user: str) -> int:
        """The user's requests counted today (UTC)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def decide(
    *,
    family: str,
    per_minute: int,
    per_day: int,
    outcome: Reason,
    in_window: int,
    oldest_leaves_s: float,
    requests_today: int,
    to_midnight_s: float,
) -> Decision:
    """The Decision both adapters return, from the raw numbers of one atomic step."""
    reset_s = max(0, math.ceil(oldest_leaves_s))
    limit, remaining, retry_after_s = per_minute, max(0, per_minute - in_window), 0
    if outcome == "rate_limited":
        retry_after_s = max(1, reset_s)
    elif outcome == "quota_exceeded":
        # The headers then describe the limit that was hit: the day's, used up until midnight.
        retry_after_s = max(1, math.ceil(to_midnight_s))
        limit, remaining, reset_s = per_day, 0, retry_after_s
    return Decision(
        allowed=outcome == "ok",
        reason=outcome,
        limit=limit,
        remaining=remaining,
        reset_s=reset_s,
        retry_after_s=retry_after_s,
        requests_today=requests_today,
        family=family,
        per_day=per_day,
    )


def headers(decision: Decision) -> dict[str, str]:
    """RateLimit-* headers (IETF draft, Reset in delta seconds), plus Retry-After on a refusal."""
    out = {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_s),
    }
    if not decision.allowed:
        out["Retry-After"] = str(decision.retry_after_s)
    return out


def error_for(decision: Decision) -> AppError:
    """The 429 for a refused decision, naming the limit that was reached."""
    if decision.reason == "quota_exceeded":
        return QuotaExceeded(
            f"Daily request quota reached: {decision.per_day} requests per day; "
            f"it resets at 00:00 UTC, in {decision.retry_after_s} s.",
            details=_details(decision, decision.per_day),
            headers=headers(decision),
        )
    unit = _UNITS.get(decision.family, "requests")
    return RateLimited(
        f"Rate limit reached: {decision.limit} {unit} per minute; "
        f"retry in {decision.retry_after_s} s.",
        details=_details(decision, decision.limit),
        headers=headers(decision),
    )


def _details(decision: Decision, limit: int) -> dict[str, object]:
    return {"family": decision.family, "limit": limit, "retry_after_s": decision.retry_after_s}
