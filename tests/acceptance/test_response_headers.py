"""Every response says its content type is not to be guessed (`nosniff`), whatever answers
it: each route of the route table, with a key and without, the API's own refusals, and the
server's refusals of requests the app never sees."""

from __future__ import annotations

import re
import socket
import uuid

import pytest
from starlette.testclient import TestClient

from spark.web.app import routes
from spark.web.headers import attachment
from spark.web.routing import ApiRoute
from tests.support.jobs import auth
from tests.support.workers import ApiProcess

SAMPLES = {"uuid": str(uuid.uuid4()), "path": "Assets/Scripts/A.cs"}


def concrete(path: str) -> str:
    """path with every parameter filled: a random id, a file path, or a word."""
    return re.sub(r"\{(\w+)(?::(\w+))?\}", lambda m: SAMPLES.get(m.group(2) or "", "sample"), path)


def api_routes() -> list[tuple[str, str]]:
    found = [(r.method, concrete(r.path)) for r in routes() if isinstance(r, ApiRoute)]
    assert len(found) >= 20, found
    return found


@pytest.mark.parametrize("signed", [True, False], ids=["with-key", "without-key"])
def test_every_route_answers_with_nosniff(client: TestClient, api_key: str, signed: bool) -> None:
    headers = auth(api_key) if signed else {}
    for method, path in api_routes():
        body = {} if method in ("POST", "PUT") else None
        resp = client.request(method, path, headers=headers, json=body)
        assert resp.headers.get("x-content-type-options") == "nosniff", (method, path)


def test_refusals_before_any_route_carry_nosniff(client: TestClient, api_key: str) -> None:
    unknown = client.get("/v1/nowhere", headers=auth(api_key))
    too_big = client.post(
        "/v1/jobs", headers={**auth(api_key), "Content-Length": str(50 * 1024 * 1024)}
    )
    for resp in (unknown, too_big):
        assert resp.status_code >= 400
        assert resp.headers["x-content-type-options"] == "nosniff"


def test_the_servers_own_refusal_of_a_broken_request_carries_nosniff(
    api_server: ApiProcess,
) -> None:
    port = int(api_server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GARBAGE / NOT-HTTP\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 400")
    assert b"x-content-type-options: nosniff" in head


def test_a_download_name_outside_ascii_is_encoded_with_a_plain_fallback() -> None:
    assert attachment("icon.png") == 'attachment; filename="icon.png"'
    assert attachment('ménu "1".cs') == (
        "attachment; filename=\"m_nu _1_.cs\"; filename*=UTF-8''m%C3%A9nu%20%221%22.cs"
    )
