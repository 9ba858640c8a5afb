"""GET /v1/health: open to all, 503 when a required dependency is down."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from spark.health import breaker_states, check_health
from spark.web.routing import ApiRoute
from spark.web.services import services


async def health(request: Request) -> JSONResponse:
    """The service's status, each dependency's, and circuit breakers'."""
    svc = services(request)
    result = await run_in_threadpool(
        check_health, svc.settings, svc.db, svc.celery, svc.blobs, svc.farm
    )
    breakers = await run_in_threadpool(breaker_states, svc.settings, svc.breakers)
    body = {"status": result.status, "checks": result.body_checks(), "breakers": breakers}
    unhealthy = result.status == "unhealthy"
    return JSONResponse(
        body,
        status_code=503 if unhealthy else 200,
        headers={"Retry-After": "5"} if unhealthy else None,
    )


routes = [ApiRoute("/v1/health", health, method="GET")]
