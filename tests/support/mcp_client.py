"""The official SDK's MCP client (ClientSession over streamable HTTP), as tests drive /mcp."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

T = TypeVar("T")


@asynccontextmanager
async def mcp_session(
    url: str, headers: dict[str, str], *, keep_alive: bool = True
) -> AsyncIterator[ClientSession]:
    """An initialized ClientSession to url with headers (the handshake client, which shows
    session problems the per-request client would hide); without keep_alive every request
    opens a connection of its own, so a balancer may send each one elsewhere."""
    limits = httpx2.Limits() if keep_alive else httpx2.Limits(max_keepalive_connections=0)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60.0), limits=limits) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def run(url: str, headers: dict[str, str], work: Callable[[ClientSession], Awaitable[T]]) -> T:
    """Open a session, do work with it, close it: one synchronous call for a test."""

    async def go() -> T:
        async with mcp_session(url, headers) as session:
            return await work(session)

    return asyncio.run(go())


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def structured(result: Any) -> Any:
    """A tool result's structured content; fails showing the error when it is one."""
    assert not result.is_error, result.content
    return result.structured_content
