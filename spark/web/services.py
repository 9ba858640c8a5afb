"""The API's own view of its services: the request's Services and caller, and the checks
routes share; the Services themselves are wired in spark.services."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from spark.domain.principals import Permission, Principal
from spark.errors import Forbidden, Unauthenticated

# Re-exported: the app factory, the security middleware and callers building an app wire
# the API through here.
from spark.services import Services as Services
from spark.services import build_services as build_services


def services(request: Request) -> Services:
    """The services of the app serving request."""
    found: Services = request.app.state.services
    return found


def presented_token(request: Request) -> str:
    """The API key or JWT the caller sent; Unauthenticated when there is none."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        raise Unauthenticated("use 'Authorization: Bearer <api key or JWT>'")
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    raise Unauthenticated(
        "no credentials: send 'Authorization: Bearer <api key or JWT>' or 'X-API-Key'"
    )


async def principal_for(svc: Services, token: str) -> Principal:
    """Who token is (from the verifier's cache when it can); Unauthenticated otherwise."""
    principal = svc.authenticator.verify_cached(token)
    if principal is None:
        principal = await run_in_threadpool(svc.authenticator.verify, token)
    return principal


def principal_of(request: Request) -> Principal:
    """The caller, as the security middleware authenticated it (spark/web/security.py)."""
    found = getattr(request.state, "principal", None)
    if not isinstance(found, Principal):
        # Only a route missing from the security layer could get here: refuse, never serve.
        raise Unauthenticated()
    return found


def require_any(principal: Principal, permissions: Iterable[Permission], what: str) -> None:
    """Forbidden unless principal holds one of permissions (for checks that depend on the body)."""
    wanted = list(permissions)
    if not any(principal.can(p) for p in wanted):
        names = " or ".join(sorted(p.value for p in wanted))
        raise Forbidden(f"{what} needs {names}")
