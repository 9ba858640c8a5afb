"""The security layer in front of every route: credentials, permission, rate limit, quota.

It runs as ASGI middleware so no route can forget it; which route needs what is the table
in spark/security/permissions.py. Its refusals use the same error mapping as the routes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spark import logs
from spark.config import TierLimits
from spark.domain.principals import Principal
from spark.errors import AppError, Forbidden, Unauthenticated
from spark.security import limits
from spark.security.permissions import Family, Open, RouteRule, rule_for
from spark.web.errors import error_response, record_refusal
from spark.web.mcp.metadata import challenge
from spark.web.metrics import matched_route
from spark.web.services import Services, presented_token, principal_for, services


class SecurityMiddleware:
    """Authenticates, authorises and meters each request to a non-public route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = _rule(scope) if scope["type"] == "http" else None
        if rule is None or rule.access is Open.PUBLIC:
            # Unknown paths and wrong methods fall through to the router's 404 / 405.
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            headers = await _admit(request, rule)
        except AppError as exc:
            await record_refusal(request, exc)
            response = error_response(exc)
            if isinstance(exc, Unauthenticated):
                # RFC 6750: a 401 names its scheme; for /mcp, where its metadata is (RFC 9728)
                response.headers["WWW-Authenticate"] = challenge(request)
            await response(scope, receive, send)
            return
        if not headers:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                # A route's own quota refusal carries its own RateLimit-* headers: keep those.
                extra = [
                    (k.lower().encode(), v.encode())
                    for k, v in headers.items()
                    if k.lower().encode() not in present
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _rule(scope: Scope) -> RouteRule | None:
    """The rule of the route that will serve scope, or None when no route matches fully."""
    route, full = matched_route(scope["app"].router.routes, scope)
    if not full or route is None:
        return None
    # every route has a rule: rule_for refuses one missing from the table
    return rule_for(scope["method"], getattr(route, "path", ""))


async def _admit(request: Request, rule: RouteRule) -> dict[str, str]:
    """The caller, checked against rule; the rate-limit headers for the response."""
    svc = services(request)
    principal = await _authenticate(request, svc)
    request.state.principal = principal
    logs.USER.set(principal.user)  # reset by RequestIdMiddleware once the response is sent
    if not isinstance(rule.access, Open) and not principal.can(rule.access):
        raise Forbidden(f"this credential lacks the {rule.access.value} permission")
    if rule.family is None:
        return {}
    tier = svc.tiers[principal.tier.value]
    decision = await svc.limiter.hit(
        principal.user, rule.family.value, _per_minute(tier, rule.family), tier.requests_per_day
    )
    if not decision.allowed:
        raise limits.error_for(decision)
    return limits.headers(decision)


def _per_minute(tier: TierLimits, family: Family) -> int:
    return {
        Family.SUBMIT: tier.submissions_per_minute,
        Family.WRITE: tier.writes_per_minute,
        Family.READ: tier.reads_per_minute,
    }[family]


async def _authenticate(request: Request, svc: Services) -> Principal:
    return await principal_for(svc, presented_token(request))
