"""GET /v1/usage: the caller's tier, its limits, and what was used this day and month;
GET /v1/admin/usage: every user's tokens and cost in a month (spark:admin, by the route table)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark.contracts.usage import (
    AdminUsageOut,
    AdminUsageQuery,
    TokenHourOut,
    UsageBuilds,
    UsageDay,
    UsageMonth,
    UsageOut,
    UsageQuery,
    UsageResets,
    UserUsageOut,
)
from spark.db import rollups
from spark.domain.principals import Principal
from spark.jobs.usage import usage_by_user, user_usage
from spark.security import quotas
from spark.web.bodies import parse
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, services


def _history(rows: Sequence[rollups.TokenHour]) -> list[TokenHourOut]:
    return [
        TokenHourOut(
            hour=r.hour.isoformat(),
            model=r.model or None,
            jobs=r.jobs,
            tokens_in=r.tokens_in,
            tokens_out=r.tokens_out,
            cost=r.cost,
        )
        for r in rows
    ]


def resets_after(now: datetime) -> UsageResets:
    """The next UTC midnight (daily limits) and the next month's first instant (monthly)."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # day 1 plus 32 days always lands in the next month, whatever this month's length
    next_month = (midnight.replace(day=1) + timedelta(days=32)).replace(day=1)
    return UsageResets(day=(midnight + timedelta(days=1)).isoformat(), month=next_month.isoformat())


async def usage(request: Request) -> Response:
    """Tier, limits, requests today, tokens and jobs this month, builds now; with
    history_days, the rolled-up token history too."""
    principal: Principal = principal_of(request)
    query = parse(UsageQuery, dict(request.query_params))
    svc = services(request)
    now = datetime.now(UTC)
    period = quotas.month_of(now)
    since = now - timedelta(days=query.history_days) if query.history_days else None
    used = await run_in_threadpool(user_usage, svc.db, principal.user, period, since)
    requests_today = await svc.limiter.requests_today(principal.user)
    body = UsageOut(
        user=principal.user,
        tier=principal.tier.value,
        limits=svc.tiers[principal.tier.value].model_dump(),
        day=UsageDay(date=now.date().isoformat(), requests=requests_today),
        month=UsageMonth(period=period, tokens=used.tokens, jobs=used.jobs, cost=used.cost),
        builds=UsageBuilds(active=used.active_builds),
        resets=resets_after(now),
    )
    if query.history_days:
        body.history = _history(used.history)
    # exclude_unset: `history` is absent, not null, when it was not asked for
    return Response(body.model_dump_json(exclude_unset=True), media_type="application/json")


async def usage_by_users(request: Request) -> Response:
    """Every user's calls, tokens in and out and cost in `month` (default: this one), most
    tokens first, with the month's totals."""
    query = parse(AdminUsageQuery, dict(request.query_params))
    period = query.month or quotas.month_of(datetime.now(UTC))
    found = await run_in_threadpool(usage_by_user, services(request).db, period)
    users = [
        UserUsageOut(
            user=t.owner,
            calls=t.calls,
            tokens_in=t.tokens_in,
            tokens_out=t.tokens_out,
            tokens=t.tokens_in + t.tokens_out,
            cost=t.cost,
        )
        for t in found
    ]
    body = AdminUsageOut(
        period=period,
        users=users,
        tokens_in=sum(u.tokens_in for u in users),
        tokens_out=sum(u.tokens_out for u in users),
        cost=sum(u.cost for u in users),
    )
    return Response(body.model_dump_json(), media_type="application/json")


routes = [
    ApiRoute("/v1/usage", usage, method="GET", query=UsageQuery),
    ApiRoute("/v1/admin/usage", usage_by_users, method="GET", query=AdminUsageQuery),
]
