"""HTTP metrics: a pure ASGI middleware that times requests, and the /metrics endpoint."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spark import metrics
from spark.health import record_replica_lag
from spark.web.services import services

#: the label of a request no route matched; raw paths would make label values unbounded
UNMATCHED = "unmatched"
#: methods outside this set are labelled "other", for the same reason
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_CONVERTER = re.compile(r"\{(\w+):\w+\}")


#: where the matched route is kept in the scope, so the security layer need not match again
MATCHED = "spark.matched_route"


def matched_route(routes: Iterable[BaseRoute], scope: Scope) -> tuple[BaseRoute | None, bool]:
    """The route serving scope and True; or the first one matching its path only (the router
    answers those, a known path with another method, with 405) and False; or (None, False)."""
    found = scope.get(MATCHED)
    if found is not None:
        return found  # type: ignore[no-any-return]
    partial: BaseRoute | None = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            found = (route, True)
            break
        if match is Match.PARTIAL and partial is None:
            partial = route
    else:
        found = (partial, False)
    scope[MATCHED] = found
    return found


def route_template(routes: Iterable[BaseRoute], scope: Scope) -> str:
    """The path template of the route serving scope ("/v1/jobs/{job_id}"), or "unmatched"."""
    route, _ = matched_route(routes, scope)
    return _template(route) if route is not None else UNMATCHED


def _template(route: BaseRoute) -> str:
    path = getattr(route, "path", None)
    return _CONVERTER.sub(r"{\1}", path) if isinstance(path, str) else UNMATCHED


class MetricsMiddleware:
    """Counts and times every HTTP request by route template, method and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request through the wrapped app, recording it once it ends."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Matched before the call: the router adds its own keys to scope as it dispatches.
        route = route_template(getattr(scope.get("app"), "routes", ()), scope)
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        status = 500  # what the server answers if the app raises before responding
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            metrics.http_request(route, method, status, time.perf_counter() - started)


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics: the Prometheus text exposition (no authentication, per the contract)."""
    db = services(request).db
    if db.replica_url is not None:
        # the lag is read when it is asked for, so a scrape never reports an old value
        await run_in_threadpool(record_replica_lag, db)
    # Multiprocess mode reads one file per process: keep that off the event loop.
    body, content_type = await run_in_threadpool(metrics.render)
    return Response(body, media_type=content_type)
