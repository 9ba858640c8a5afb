"""Calls from an MCP tool into SPARK's own HTTP API, in process, as the MCP caller.

Every tool is a request to a public route, sent through the whole application — its
security middleware included — with the caller's own credentials and request id. So a tool
is authenticated, authorised, rate-limited, charged, scoped to its caller's data and audited
by exactly the code that does it for HTTP: MCP adds no rule of its own, and cannot drift
from the API. The cost is one in-process ASGI dispatch per call, no socket.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.types import ASGIApp, Message

#: the caller's headers a loopback request carries (credentials, client hints); its request
#: id goes as the MCP request's own, the caller's or the one SPARK gave it
_FORWARDED = ("authorization", "x-api-key", "user-agent")


@dataclass(frozen=True)
class Answer:
    """A route's answer: status, headers (lower-case names) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        """Whether the route answered 2xx."""
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Loopback:
    """The API as one MCP caller sees it: requests go in with the caller's headers."""

    app: ASGIApp
    #: the MCP request's own scope parts a route reads (client address, scheme, server)
    base: Mapping[str, Any]
    headers: tuple[tuple[bytes, bytes], ...] = field(default=())

    @classmethod
    def of(cls, request: Request) -> Loopback:
        """The loopback for the MCP request's caller."""
        scope = request.scope
        base = {k: scope[k] for k in ("client", "server", "scheme", "http_version") if k in scope}
        forwarded = tuple(
            (name.encode(), value.encode())
            for name in _FORWARDED
            if (value := request.headers.get(name)) is not None
        )
        request_id = scope.get("state", {}).get("request_id") or request.headers.get("x-request-id")
        if request_id:
            forwarded += ((b"x-request-id", str(request_id).encode()),)
        return cls(scope["app"], base, forwarded)

    async def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        accept: str = "application/json",
    ) -> Answer:
        """One request; the whole answer once the route has sent it."""
        status, headers, chunks = 500, {}, []
        async for message in self._run(method, path, query, body, accept):
            if message["type"] == "http.response.start":
                status, headers = message["status"], _headers(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
        return Answer(status, headers, b"".join(chunks))

    async def streaming(
        self, method: str, path: str, *, query: Mapping[str, Any] | None = None, accept: str
    ) -> AsyncIterator[bytes | Answer]:
        """A streamed request: an Answer first (its status and headers, no body), then each
        chunk of the body as the route sends it. Closing the iterator disconnects."""
        async for message in self._run(method, path, query, None, accept):
            if message["type"] == "http.response.start":
                yield Answer(message["status"], _headers(message), b"")
            elif message["type"] == "http.response.body" and message.get("body"):
                yield bytes(message["body"])

    async def _run(
        self, method: str, path: str, query: Mapping[str, Any] | None, body: Any, accept: str
    ) -> AsyncIterator[Message]:
        payload = b"" if body is None else json.dumps(body).encode()
        headers = [*self.headers, (b"accept", accept.encode())]
        if body is not None:
            headers += [(b"content-type", b"application/json")]
            headers += [(b"content-length", str(len(payload)).encode())]
        scope = {
            **self.base,
            "type": "http",
            "method": method,
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": urlencode(_plain(query or {}), doseq=True).encode(),
            "headers": headers,
            "asgi": {"version": "3.0"},
        }
        outbox: asyncio.Queue[Message | None] = asyncio.Queue()
        done = asyncio.Event()
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            await outbox.put(message)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            finally:
                await outbox.put(None)

        task = asyncio.create_task(run())
        try:
            while (message := await outbox.get()) is not None:
                yield message
        finally:
            done.set()
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _headers(message: Message) -> dict[str, str]:
    return {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}


def _plain(query: Mapping[str, Any]) -> dict[str, Any]:
    """Query values as the API reads them: None left out, booleans in lower case."""
    return {
        k: (str(v).lower() if isinstance(v, bool) else v) for k, v in query.items() if v is not None
    }
