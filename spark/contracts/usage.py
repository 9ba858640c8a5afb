"""GET /v1/usage's query and body: the caller's tier, limits and usage, and on request the
caller's hourly token history from the rollups; GET /v1/admin/usage's: tokens and cost by
user for a month."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: a month as YYYY-MM
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class UsageQuery(BaseModel):
    """Query parameters of GET /v1/usage."""

    model_config = ConfigDict(extra="forbid")

    #: add `history`: the caller's tokens per hour and model over this many days, from the
    #: hourly rollups (so it outlives the raw usage records)
    history_days: int = Field(default=0, ge=0, le=400)


class UsageDay(BaseModel):
    """Requests made today (UTC)."""

    date: str
    requests: int


class UsageMonth(BaseModel):
    """LLM tokens and jobs charged this month (`period` is YYYY-MM), and what this month's
    LLM calls cost, priced by the operator's table (SPARK_PRICES) as each was made."""

    period: str
    tokens: int
    jobs: int
    cost: float = 0.0


class UsageBuilds(BaseModel):
    """Builds queued or running now."""

    active: int


class UsageResets(BaseModel):
    """When the limits start over (UTC, ISO 8601): the daily ones at the next midnight, the
    monthly ones when the next month starts."""

    day: str
    month: str


class TokenHourOut(BaseModel):
    """One UTC hour of the caller's tokens on one model (null: no model was named): jobs and
    tokens of the jobs that ended in it, and the cost of the calls made in it."""

    hour: str
    model: str | None
    jobs: int
    tokens_in: int
    tokens_out: int
    cost: float = 0.0


class UsageOut(BaseModel):
    """The caller's tier, its limits, and usage today, this month and now; `history` only
    when `history_days` asks for it, oldest hour first."""

    user: str
    tier: str
    limits: dict[str, int]
    day: UsageDay
    month: UsageMonth
    builds: UsageBuilds
    resets: UsageResets
    history: list[TokenHourOut] | None = None


class AdminUsageQuery(BaseModel):
    """Query parameters of GET /v1/admin/usage."""

    model_config = ConfigDict(extra="forbid")

    #: YYYY-MM (UTC); the current month when absent
    month: str | None = Field(default=None, pattern=MONTH_PATTERN)


class UserUsageOut(BaseModel):
    """One user's LLM and tool calls in the month, their tokens and what they cost."""

    user: str
    calls: int
    tokens_in: int
    tokens_out: int
    tokens: int
    cost: float


class AdminUsageOut(BaseModel):
    """Every user with calls in the month, most tokens first, and the month's totals."""

    period: str
    users: list[UserUsageOut]
    tokens_in: int
    tokens_out: int
    cost: float
