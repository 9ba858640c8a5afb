"""Which of two stateless transports answers a POST to /mcp: an event stream for a call that
asked for progress notifications, plain JSON for everything else.

An event stream costs the server a task group, a ping task and listeners per answer — a
fifth of a small call's CPU — and only a call with a progress token has anything to stream
before its result. Both transports are the SDK's own session manager, stateless, so which
one answers changes nothing else. With sessions kept (SPARK_MCP_STATELESS=false) one
manager must see every request of a session, so this is used only when stateless.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.types import Message, Receive, Scope, Send


@dataclass(frozen=True)
class SplitTransport:
    """An ASGI app over a streaming and a JSON session manager."""

    streaming: StreamableHTTPSessionManager
    plain: StreamableHTTPSessionManager

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Both managers' task groups, for the app's lifespan."""
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(self.streaming.run())
            await stack.enter_async_context(self.plain.run())
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "POST":
            await self.streaming.handle_request(scope, receive, send)
            return
        body, replay = await _buffered(receive)
        manager = self.streaming if _may_stream(body) else self.plain
        await manager.handle_request(scope, replay, send)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The request's whole body (the API's body limit has bounded it), and a receive that
    hands it over again before passing on what the server sends later (a disconnect)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", _replaying(b"", message, receive)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    first: Message = {"type": "http.request", "body": body, "more_body": False}
    return body, _replaying(body, first, receive)


def _replaying(body: bytes, first: Message, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replay


def _may_stream(body: bytes) -> bool:
    """Whether the message may have progress to send before its result: a request carrying
    a progress token, or anything this cannot read (the SDK answers that as it always does)."""
    try:
        message: Any = json.loads(body)
    except ValueError:
        return True
    if not isinstance(message, dict):
        return True
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and "progressToken" in meta
