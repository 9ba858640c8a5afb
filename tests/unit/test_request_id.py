"""X-Request-ID: the caller's sane id is echoed, a missing or invalid one replaced, on every
response, and known to the logs while the request is served."""

from __future__ import annotations

import io
import json
import logging
import re

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from spark import logs
from spark.web import errors
from spark.web.app import Api
from spark.web.request_id import RequestIdMiddleware

GENERATED = re.compile(r"[0-9a-f]{32}")


async def _context(_: Request) -> PlainTextResponse:
    return PlainTextResponse(f"{logs.REQUEST_ID.get()} {logs.JOB_ID.get()}")


async def _job(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(request.path_params["job_id"]), status_code=401)


def client() -> TestClient:
    app = Starlette(routes=[Route("/context", _context), Route("/jobs/{job_id}", _job)])
    return TestClient(RequestIdMiddleware(app))


def test_the_callers_request_id_is_echoed_and_in_the_log_context() -> None:
    """A sane X-Request-ID comes back as sent and is what log lines of the request name."""
    resp = client().get("/context", headers={"X-Request-ID": "r-123"})
    assert resp.headers["x-request-id"] == "r-123"
    assert resp.text == "r-123 None"


def test_a_request_without_one_gets_a_new_id() -> None:
    """No X-Request-ID: a new uuid4 hex, the same in the response as in the logs."""
    resp = client().get("/context")
    assert GENERATED.fullmatch(resp.headers["x-request-id"])
    assert resp.text.split()[0] == resp.headers["x-request-id"]


def test_an_invalid_request_id_is_replaced() -> None:
    """Too long, or with characters a log line or header could be abused with: replaced."""
    for bad in ("x" * 65, "a b", "r-1;drop", "é".encode(), ""):
        resp = client().get("/context", headers={"X-Request-ID": bad})
        assert GENERATED.fullmatch(resp.headers["x-request-id"]), bad


def test_refusals_and_unknown_paths_carry_the_id_too() -> None:
    """A 404 from the router and a route's own 401 are echoed like any other response."""
    with client() as c:
        assert c.get("/nowhere", headers={"X-Request-ID": "r-404"}).headers["x-request-id"] == (
            "r-404"
        )
        refused = c.get("/jobs/j-9", headers={"X-Request-ID": "r-401"})
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "r-401"


def test_the_context_is_gone_once_the_response_is_sent() -> None:
    """Nothing of one request is left in the context for what runs after it."""
    client().get("/context", headers={"X-Request-ID": "r-1"})
    assert logs.REQUEST_ID.get() is None and logs.JOB_ID.get() is None


async def _boom(_: Request) -> PlainTextResponse:
    raise RuntimeError("unexpected")


def test_an_unexpected_error_is_answered_with_the_id_and_logged_with_it() -> None:
    """The API's 500 (answered outside every other middleware) still echoes the id, and the
    line logging the error names the request."""
    app = Api(routes=[Route("/boom", _boom)], exception_handlers=dict(errors.HANDLERS))
    out = io.StringIO()
    logs.configure("INFO", "json", out)
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            resp = c.get("/boom", headers={"X-Request-ID": "r-500"})
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "spark"]:
            root.removeHandler(handler)
    assert resp.status_code == 500 and resp.headers["x-request-id"] == "r-500"
    assert resp.json()["error"]["code"] == "internal_error"
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    [logged] = [x for x in lines if x["message"] == "unhandled error"]
    assert logged["request_id"] == "r-500" and "RuntimeError" in logged["exc_info"]
