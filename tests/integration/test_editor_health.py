"""GET /v1/health asks the configured Unity editor over MCP, not just its TCP port."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from starlette.testclient import TestClient

from spark.config import Settings
from spark.web.app import create_app
from tests.support.services import free_port
from tests.support.unity_mcp import UnityMcpStandIn


def health(settings: Settings, url: str, key: str | None = None) -> dict[str, Any]:
    secret = SecretStr(key) if key else None
    configured = settings.model_copy(update={"unity_mcp_url": url, "unity_mcp_api_key": secret})
    with TestClient(create_app(configured)) as client:
        resp = client.get("/v1/health")
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


def test_an_unreachable_editor_leaves_the_service_degraded(settings: Settings) -> None:
    """No editor at the URL: unity_mcp is down, the service degraded (not unhealthy)."""
    port = free_port()
    body = health(settings, f"http://127.0.0.1:{port}/mcp")
    assert body["checks"]["unity_mcp"] == "down" and body["status"] == "degraded"
    assert body["breakers"][f"unity_mcp:127.0.0.1:{port}"] == "closed"


def test_an_editor_that_answers_mcp_is_ok(settings: Settings) -> None:
    """The editor answers initialize and ping: unity_mcp ok, the service healthy."""
    with UnityMcpStandIn(free_port(), api_key="k") as standin:
        body = health(settings, standin.url, "k")
        methods = [r["method"] for r in standin.requests()]
    assert body["checks"]["unity_mcp"] == "ok" and body["status"] == "healthy"
    assert "initialize" in methods and "ping" in methods


def test_a_listening_port_that_is_no_mcp_server_is_down(settings: Settings) -> None:
    """A TCP listener that does not speak MCP (a wrong key here) is not reported ok."""
    with UnityMcpStandIn(free_port(), api_key="k") as standin:
        body = health(settings, standin.url, "wrong")
    assert body["checks"]["unity_mcp"] == "down"
