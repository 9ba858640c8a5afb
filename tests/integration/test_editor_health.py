"""GET /v1/health asks unity-mcp's real server which Unity editors are connected to it: the
server answers MCP on its own, so an answer alone says nothing about Unity."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.web.app import create_app
from tests.support.services import free_port
from tests.support.unity_editor import EditorStandIn
from tests.support.unity_mcp_real import UnityMcpServer, running_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server() -> Iterator[UnityMcpServer]:
    with running_server(free_port()) as running:
        yield running


def health(settings: Settings, url: str) -> dict[str, Any]:
    configured = settings.model_copy(update={"unity_mcp_url": url})
    with TestClient(create_app(configured)) as client:
        resp = client.get("/v1/health")
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


def health_when(settings: Settings, url: str, instances: int) -> dict[str, Any]:
    """The health body once it lists that many instances (answers are reused a few seconds)."""
    deadline = time.monotonic() + 15
    while True:
        body = health(settings, url)
        if len(body["checks"]["unity_mcp"]["instances"]) == instances:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.25)


def test_a_server_with_no_editor_connected_leaves_the_service_degraded(
    settings: Settings, server: UnityMcpServer
) -> None:
    body = health_when(settings, server.url, 0)
    assert body["checks"]["unity_mcp"]["status"] == "down"
    assert body["checks"]["unity_mcp"]["error"] == "no Unity editor is connected"
    assert body["status"] == "degraded"


def test_a_connected_editor_is_listed_and_the_service_healthy(
    settings: Settings, server: UnityMcpServer, tmp_path: Path
) -> None:
    editor = EditorStandIn(
        server.hub_url, tmp_path / "Game", project_name="Game", project_hash=uuid.uuid4().hex[:8]
    )
    editor.start()
    try:
        body = health_when(settings, server.url, 1)
    finally:
        editor.stop()
    assert body["checks"]["unity_mcp"] == {"status": "ok", "instances": [editor.instance_id]}
    assert body["status"] == "healthy"


def test_an_unreachable_server_is_down_and_named_in_the_breakers(settings: Settings) -> None:
    port = free_port()
    body = health(settings, f"http://127.0.0.1:{port}/mcp")
    assert body["checks"]["unity_mcp"]["status"] == "down"
    assert body["status"] == "degraded"
    assert body["breakers"][f"unity_mcp:127.0.0.1:{port}"] == "closed"
