"""Every route of the app, walked with the hostile list: each item is a 4xx in the error
format — never a 5xx, never a dropped connection — and the API still answers afterwards.

The routes come from the app itself (spark.web.app.routes()), so a new route is walked too.
Headers and bodies are sent to a real `spark api` process over raw sockets: only a real
server parses HTTP, and only raw sockets can stop sending halfway through a body.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.convertors import UUIDConvertor
from starlette.testclient import TestClient

from spark.config import Settings, TierLimits
from spark.db.executor import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Permission, Tier
from spark.security.apikeys import create_key
from spark.web.app import create_app, routes
from spark.web.guards import MAX_HEADER_BYTES
from spark.web.routing import ApiRoute
from spark.web.server import HEAD_CEILING
from tests.support.services import free_port
from tests.support.workers import ApiProcess

ROUTES = [route for route in routes() if isinstance(route, ApiRoute)]
#: the body limit of the suite's settings (the default)
LIMIT = Settings.model_fields["max_body_bytes"].default
#: every tier's limits out of reach: these tests are about hostile input, not rate limits
UNLIMITED = {
    tier: dict.fromkeys(TierLimits.model_fields, 10**9) for tier in ("free", "pro", "enterprise")
}


def route_id(route: ApiRoute) -> str:
    return f"{route.method} {route.path_format}"


def url_of(route: ApiRoute, **values: str) -> str:
    """The route's path with each parameter filled: a fresh UUID, or a plain name."""
    path = route.path_format
    for name, convertor in route.param_convertors.items():
        default = str(uuid.uuid4()) if isinstance(convertor, UUIDConvertor) else "x"
        path = path.replace("{" + name + "}", values.get(name, default))
    return path


def assert_error(status: int, body: bytes, expected: int | None = None) -> dict[str, object]:
    """A 4xx (expected, if given) whose body is exactly CONTRACT §4's error object."""
    assert 400 <= status < 500 if expected is None else status == expected, (status, body[:300])
    error = json.loads(body)["error"]
    assert set(error) <= {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and error["message"]
    return dict(error)


@pytest.fixture
def roomy_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"tier_limits": UNLIMITED})


@pytest.fixture
def key(db: Database) -> str:
    # admin too, so the admin routes' input checks are reached rather than a 403
    permissions = {*DEFAULT_PERMISSIONS, Permission.ADMIN}
    return create_key(db, f"hostile-{uuid.uuid4().hex[:8]}", Tier.PRO, permissions).token


@pytest.fixture
def app_client(roomy_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(roomy_settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    """`spark api` as operators run it: uvicorn with SPARK's HTTP protocol."""
    env = {"SPARK_TIER_LIMITS": json.dumps(UNLIMITED)}
    proc = ApiProcess(settings, Path(tmp_path_factory.mktemp("api")), free_port(), **env)
    proc.start()
    yield proc
    proc.stop()


def exchange(proc: ApiProcess, head: str | bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send a raw request (head, then body) and read one response: status and body."""
    host, port = proc.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall((head.encode("latin-1") if isinstance(head, str) else head) + body)
        return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection without answering: {buf[:200]!r}"
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert headers.get("content-type", "").startswith("application/json"), head
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-response"
        rest += chunk
    return int(lines[0].split()[1]), rest[:length]


def request_head(route: ApiRoute, key: str, *extra: str) -> str:
    lines = [f"{route.method} {url_of(route)} HTTP/1.1", "Host: spark", f"X-API-Key: {key}"]
    return "\r\n".join([*lines, *extra, "", ""])


# In-process: what the routes and middleware decide, for every route.


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_an_unknown_query_parameter_is_a_400_naming_it_on_every_route(
    app_client: TestClient, key: str, route: ApiRoute
) -> None:
    """A misspelt or invented parameter is never silently ignored."""
    resp = app_client.request(
        route.method, url_of(route), params={"colour": "red"}, headers={"X-API-Key": key}
    )
    error = assert_error(resp.status_code, resp.content, 400)
    assert error["details"] == {"field": "colour"}


@pytest.mark.parametrize("route", [r for r in ROUTES if r.query.model_fields], ids=route_id)
@pytest.mark.parametrize(
    "value", ["a%00b", "%00", "%ED%B3%BF"], ids=["nul", "only-nul", "surrogate"]
)
def test_nul_or_a_surrogate_in_any_declared_query_parameter_is_a_4xx(
    app_client: TestClient, key: str, route: ApiRoute, value: str
) -> None:
    """NUL is a 422 naming the parameter; an encoded lone surrogate is not UTF-8, arrives as
    U+FFFD and is judged like any other bad value."""
    for name in route.query.model_fields:
        resp = app_client.request(
            route.method, f"{url_of(route)}?{name}={value}", headers={"X-API-Key": key}
        )
        error = assert_error(resp.status_code, resp.content)
        if "%00" in value:
            assert resp.status_code == 422 and error["details"] == {"field": name}


@pytest.mark.parametrize("route", [r for r in ROUTES if r.param_convertors], ids=route_id)
def test_nul_in_any_path_parameter_is_a_4xx(
    app_client: TestClient, key: str, route: ApiRoute
) -> None:
    """A NUL where a UUID belongs matches no route (404); in a name it is a 422 naming it."""
    for name, convertor in route.param_convertors.items():
        resp = app_client.request(
            route.method, url_of(route, **{name: "a%00b"}), headers={"X-API-Key": key}
        )
        error = assert_error(resp.status_code, resp.content)
        if not isinstance(convertor, UUIDConvertor):
            assert resp.status_code == 422 and error["details"] == {"field": name}


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if "cursor" in r.query.model_fields], ids=route_id
)
@pytest.mark.parametrize("cursor", ["%%%", "bm90LWEtY3Vyc29y", "W10", "x" * 5000, "WyJhIiwgMV0"])
def test_a_forged_cursor_is_a_422_on_every_route_that_pages(
    app_client: TestClient, key: str, route: ApiRoute, cursor: str
) -> None:
    """Not base64, not JSON, the wrong shape, far too long: each a 422 naming `cursor`."""
    resp = app_client.request(
        route.method, url_of(route), params={"cursor": cursor}, headers={"X-API-Key": key}
    )
    assert assert_error(resp.status_code, resp.content, 422)["details"] == {"field": "cursor"}


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_json_nested_ten_thousand_deep_never_fails_a_route(
    app_client: TestClient, key: str, route: ApiRoute
) -> None:
    """A route that reads a body answers 400; one that reads none ignores it, unharmed."""
    body = "[" * 10_000 + "]" * 10_000
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    resp = app_client.request(route.method, url_of(route), content=body, headers=headers)
    assert resp.status_code < 500, resp.text
    if route.method == "POST" and route.path_format in {"/v1/jobs", "/v1/projects"}:
        assert assert_error(resp.status_code, resp.content, 400)["code"] == "bad_request"


# Against a real server: what only HTTP parsing decides.


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_huge_headers_are_a_json_431_on_every_route(
    server: ApiProcess, key: str, route: ApiRoute
) -> None:
    """One 64 KB header, and 200 headers of 1 KB, are both over MAX_HEADER_BYTES."""
    one = f"X-Big: {'a' * 65_536}"
    many = [f"X-Pad-{i}: {'b' * 1024}" for i in range(200)]
    for extra in ([one], many):
        assert sum(len(h) for h in extra) > MAX_HEADER_BYTES
        status, body = exchange(server, request_head(route, key, *extra))
        assert assert_error(status, body, 431)["code"] == "headers_too_large"


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_a_declared_ten_megabyte_body_is_a_413_before_any_of_it_is_sent(
    server: ApiProcess, key: str, route: ApiRoute
) -> None:
    """The refusal arrives though not one byte of the body was sent: nothing was read."""
    head = request_head(
        route, key, "Content-Type: application/json", f"Content-Length: {10 * 1024 * 1024}"
    )
    status, body = exchange(server, head)
    assert assert_error(status, body, 413)["code"] == "payload_too_large"


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_a_chunked_body_is_a_413_once_past_the_limit_while_it_is_still_arriving(
    server: ApiProcess, key: str, route: ApiRoute
) -> None:
    """Twice the limit in chunks, with no last chunk: the server answers without waiting for
    the rest, so it never holds more than the limit."""
    head = request_head(route, key, "Content-Type: application/json", "Transfer-Encoding: chunked")
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
    status, body = exchange(server, head, chunk * (2 * LIMIT // (64 * 1024)))
    assert assert_error(status, body, 413)["code"] == "payload_too_large"


def test_a_ten_megabyte_chunked_upload_from_a_real_client_is_a_413(
    server: ApiProcess, key: str
) -> None:
    """httpx streaming a whole 10 MB body: the server drains it and answers 413 in JSON."""

    def ten_megabytes() -> Iterator[bytes]:
        for _ in range(160):
            yield b" " * 64 * 1024

    resp = httpx.post(
        f"{server.url}/v1/jobs",
        content=ten_megabytes(),
        headers={"X-API-Key": key, "Content-Type": "application/json"},
        timeout=30,
    )
    assert assert_error(resp.status_code, resp.content, 413)["code"] == "payload_too_large"


def test_a_head_past_the_server_ceiling_is_a_json_431_before_it_ends(server: ApiProcess) -> None:
    """A header that never ends: past HEAD_CEILING the server stops buffering and answers,
    though the head is incomplete and the app has not seen the request."""
    head = f"GET /v1/health HTTP/1.1\r\nHost: spark\r\nX-Big: {'a' * (HEAD_CEILING + 1)}"
    status, body = exchange(server, head)
    assert assert_error(status, body, 431)["code"] == "headers_too_large"


@pytest.mark.parametrize(
    "head",
    [
        b"GET /v1/jobs/\xff\xfe HTTP/1.1\r\nHost: spark\r\n\r\n",
        b"GET /v1/health HTTP/1.1\r\nHost: spark\r\nX-Bad: a\x00b\r\n\r\n",
        b"POST /v1/jobs HTTP/1.1\r\nHost: spark\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ],
    ids=["non-ascii-path", "nul-in-header", "bad-chunk-size", "garbage"],
)
def test_a_request_that_is_not_http_is_a_json_400(server: ApiProcess, head: bytes) -> None:
    """The parser's own refusals are in the error format too."""
    status, body = exchange(server, head)
    assert assert_error(status, body, 400)["code"] == "bad_request"


def test_the_server_still_answers_health_after_the_hostile_list(
    server: ApiProcess, key: str
) -> None:
    """Run after the rest of the module (pytest keeps file order): the process is unharmed,
    including by a client that sends half a body and vanishes."""
    host, port = server.url.removeprefix("http://").split(":")
    abandoned = socket.create_connection((host, int(port)))
    abandoned.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: s\r\nContent-Length: 1000\r\n\r\n{")
    abandoned.close()
    resp = httpx.get(f"{server.url}/v1/health", timeout=10)
    assert resp.status_code == 200 and resp.json()["status"] in {"healthy", "degraded"}
    jobs = httpx.get(f"{server.url}/v1/jobs", headers={"X-API-Key": key}, timeout=10)
    assert jobs.status_code == 200
