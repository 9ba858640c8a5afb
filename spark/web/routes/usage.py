"""GET /v1/usage: the caller's tier, its limits, and what was used this day and month."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark.db import usage as usage_queries
from spark.domain.principals import Principal
from spark.security import quotas
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, services


async def usage(request: Request) -> Response:
    """Tier, limits, requests today, tokens and jobs this month, builds now."""
    principal: Principal = principal_of(request)
    svc = services(request)
    now = datetime.now(UTC)
    period = quotas.month_of(now)

    def read() -> tuple[tuple[int, int], int]:
        with svc.db.read_session() as s:
            month = usage_queries.month_usage(s, principal.user, period)
            return month, quotas.active_builds(s, principal.user)

    (tokens, jobs), builds = await run_in_threadpool(read)
    requests_today = await svc.limiter.requests_today(principal.user)
    body = {
        "user": principal.user,
        "tier": principal.tier.value,
        "limits": svc.tiers[principal.tier.value].model_dump(),
        "day": {"date": now.date().isoformat(), "requests": requests_today},
        "month": {"period": period, "tokens": tokens, "jobs": jobs},
        "builds": {"active": builds},
    }
    return Response(json.dumps(body), media_type="application/json")


routes = [ApiRoute("/v1/usage", usage, method="GET")]
