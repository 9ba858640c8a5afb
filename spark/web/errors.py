"""The one place errors become HTTP responses: {"error": {code, message, details?}}."""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from spark.errors import AppError, MethodNotAllowed, NotFound
from spark.security.audit import action_for, audit_refusal
from spark.web.services import services

log = logging.getLogger(__name__)

_HTTP_CODES: dict[int, type[AppError]] = {404: NotFound, 405: MethodNotAllowed}


def error_response(exc: AppError) -> JSONResponse:
    """The JSON body and headers for an AppError."""
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.details:
        body["details"] = exc.details
    return JSONResponse({"error": body}, status_code=exc.status, headers=exc.headers or None)


async def app_error(request: Request, exc: Exception) -> Response:
    """AppError and every subclass (Starlette looks handlers up along the MRO)."""
    assert isinstance(exc, AppError)
    await record_refusal(request, exc)
    return error_response(exc)


async def record_refusal(request: Request, exc: AppError) -> None:
    """Write a permission denial or an exceeded quota to the audit log."""
    if action_for(exc) is None:
        return
    principal = getattr(request.state, "principal", None)
    target = f"{request.method} {request.url.path}"
    await run_in_threadpool(audit_refusal, services(request).db, exc, principal, target)


async def http_error(_: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unmatched route, non-UUID id, wrong method) in our format."""
    assert isinstance(exc, HTTPException)
    cls = _HTTP_CODES.get(exc.status_code)
    if cls is not None:
        return error_response(cls())
    return JSONResponse(
        {"error": {"code": "http_error", "message": str(exc.detail)}},
        status_code=exc.status_code,
    )


async def unexpected_error(_: Request, exc: Exception) -> Response:
    """Anything else: logged with its trace, answered without one."""
    log.exception("unhandled error", exc_info=exc)
    return error_response(AppError("an unexpected error occurred; it has been logged"))


HANDLERS = {AppError: app_error, HTTPException: http_error, Exception: unexpected_error}
