"""/mcp behind a balancer over two `spark api` processes, and behind a proxy that forwards
its public host name.

Every MCP request opens its own connection and a round-robin balancer sends each to the
other process. Stateless, as SPARK serves MCP, all 20 calls succeed; the same test against
servers that keep sessions per process fails — which shows it would catch that mistake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spark.config import Settings
from tests.support.mcp_client import bearer, mcp_session, structured
from tests.support.proxy import TcpProxy
from tests.support.services import free_port
from tests.support.workers import ApiProcess


@pytest.fixture(params=["true", "false"], ids=["stateless", "sessions-per-process"])
def balanced(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> Iterator[tuple[TcpProxy, bool]]:
    """Two API processes behind a round-robin TCP balancer, stateless or not."""
    stateless = request.param
    apis = [
        ApiProcess(settings, tmp_path, free_port(), SPARK_MCP_STATELESS=stateless) for _ in range(2)
    ]
    for api in apis:
        api.start()
    ports = [int(api.url.rsplit(":", 1)[1]) for api in apis]
    balancer = TcpProxy("127.0.0.1", ports[0], ("127.0.0.1", ports[1]))
    yield balancer, stateless == "true"
    balancer.close()
    for api in apis:
        api.stop()


async def twenty_calls(url: str, key: str) -> list[Any]:
    """Initialize, then 20 tool calls, each on a connection of its own."""
    async with mcp_session(url, bearer(key), keep_alive=False) as session:
        results = []
        for n in range(20):
            if n % 2:
                results.append(structured(await session.call_tool("get_usage", {})))
            else:
                results.append(structured(await session.call_tool("list_jobs", {"limit": 1})))
        return results


def test_twenty_calls_alternating_between_two_api_processes(
    balanced: tuple[TcpProxy, bool], api_key: str
) -> None:
    balancer, stateless = balanced
    url = f"http://127.0.0.1:{balancer.port}/mcp"
    if stateless:
        results = asyncio.run(twenty_calls(url, api_key))
        assert len(results) == 20
        assert all(count >= 10 for count in balancer.connections.values()), balancer.connections
        return
    # Sessions kept per process: a request reaching the other process finds no session.
    with pytest.raises(BaseException) as failed:
        asyncio.run(twenty_calls(url, api_key))
    assert "session" in repr(failed.value).lower() or "404" in repr(failed.value)


def test_behind_a_proxy_the_public_host_is_accepted_and_others_are_refused(
    settings: Settings, tmp_path: Path, api_key: str
) -> None:
    """SPARK_MCP_ALLOWED_HOSTS names the host a proxy forwards: that Host header is served,
    an unlisted one is refused 421 by the SDK's DNS-rebinding check."""
    api = ApiProcess(
        settings, tmp_path, free_port(), SPARK_MCP_ALLOWED_HOSTS="spark.example.test,127.0.0.1:*"
    )
    api.start()
    try:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
        headers = {
            **bearer(api_key),
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        }
        forwarded = httpx.post(
            f"{api.url}/mcp", json=body, headers={**headers, "Host": "spark.example.test"}
        )
        assert forwarded.status_code == 200, forwarded.text
        assert "get_job" in forwarded.text
        other = httpx.post(f"{api.url}/mcp", json=body, headers={**headers, "Host": "evil.test"})
        assert other.status_code == 421, other.text
    finally:
        api.stop()


def test_without_credentials_mcp_answers_401_pointing_at_its_metadata(
    api_server: ApiProcess,
) -> None:
    resp = httpx.post(f"{api_server.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert resp.status_code == 401
    challenge = resp.headers["www-authenticate"]
    url = f"{api_server.url}/.well-known/oauth-protected-resource/mcp"
    assert challenge == f'Bearer resource_metadata="{url}"'
    metadata = httpx.get(url).json()
    assert metadata["resource"] == f"{api_server.url}/mcp"
    assert metadata["bearer_methods_supported"] == ["header"]
    assert "spark:build" in metadata["scopes_supported"]
