"""GET /v1/usage's query and body: the caller's tier, limits and usage, and on request the
caller's hourly token history from the rollups."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
    """LLM tokens and jobs charged this month (`period` is YYYY-MM)."""

    period: str
    tokens: int
    jobs: int


class UsageBuilds(BaseModel):
    """Builds queued or running now."""

    active: int


class UsageResets(BaseModel):
    """When the limits start over (UTC, ISO 8601): the daily ones at the next midnight, the
    monthly ones when the next month starts."""

    day: str
    month: str


class TokenHourOut(BaseModel):
    """One UTC hour of the caller's tokens on one model (null: no model was named)."""

    hour: str
    model: str | None
    jobs: int
    tokens_in: int
    tokens_out: int


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
