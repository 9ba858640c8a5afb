"""GET /v1/usage: the caller's tier, its limits, and what was used this day and month."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark.contracts.usage import (
    TokenHourOut,
    UsageBuilds,
    UsageDay,
    UsageMonth,
    UsageOut,
    UsageQuery,
)
from spark.db import rollups
from spark.db import usage as usage_queries
from spark.domain.principals import Principal
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
        )
        for r in rows
    ]


async def usage(request: Request) -> Response:
    """Tier, limits, requests today, tokens and jobs this month, builds now; with
    history_days, the rolled-up token history too."""
    principal: Principal = principal_of(request)
    query = parse(UsageQuery, dict(request.query_params))
    svc = services(request)
    now = datetime.now(UTC)
    period = quotas.month_of(now)

    since = now - timedelta(days=query.history_days)

    def read() -> tuple[tuple[int, int], int, Sequence[rollups.TokenHour]]:
        with svc.db.read_session() as s:
            month = usage_queries.month_usage(s, principal.user, period)
            history = rollups.token_history(s, principal.user, since) if query.history_days else []
            return month, quotas.active_builds(s, principal.user), history

    (tokens, jobs), builds, history = await run_in_threadpool(read)
    requests_today = await svc.limiter.requests_today(principal.user)
    body = UsageOut(
        user=principal.user,
        tier=principal.tier.value,
        limits=svc.tiers[principal.tier.value].model_dump(),
        day=UsageDay(date=now.date().isoformat(), requests=requests_today),
        month=UsageMonth(period=period, tokens=tokens, jobs=jobs),
        builds=UsageBuilds(active=builds),
    )
    if query.history_days:
        body.history = _history(history)
    # exclude_unset: `history` is absent, not null, when it was not asked for
    return Response(body.model_dump_json(exclude_unset=True), media_type="application/json")


routes = [ApiRoute("/v1/usage", usage, method="GET", query=UsageQuery)]
