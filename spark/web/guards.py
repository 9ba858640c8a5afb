"""Bounds on what a request may make the API hold: its headers and its body.

Both are ASGI middleware, so every route is covered whether or not it reads a body, and
both answer through the one error mapping. The server's own ceiling on a request head
(spark/web/server.py) sits above MAX_HEADER_BYTES, so a caller over the documented bound
meets this JSON 431 rather than a connection dropped by the HTTP parser.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spark.errors import HeadersTooLarge, PayloadTooLarge
from spark.web.errors import error_response

#: the most bytes of header names and values one request may carry; a few JWTs and the
#: usual browser headers fit many times over
MAX_HEADER_BYTES = 32 * 1024


class HeaderLimitMiddleware:
    """Refuses a request whose headers add up to more than MAX_HEADER_BYTES with a 431."""

    def __init__(self, app: ASGIApp, limit: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, or refuse it before anything else looks at its headers."""
        if scope["type"] == "http":
            size = sum(len(name) + len(value) for name, value in scope["headers"])
            if size > self.limit:
                exc = HeadersTooLarge(f"the request headers are over {self.limit} bytes")
                await error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuses a request body over limit bytes with a 413, on every route.

    A declared Content-Length over the limit is refused before a byte of the body is read.
    A chunked body (no Content-Length) is read here, at most limit + 1 bytes of it, and
    handed on to the route whole, so no route needs to count what it reads.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with its body checked against the limit."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None:
            # The server reads exactly the declared length, so the declaration is the bound.
            if declared.isdigit() and int(declared) > self.limit:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        first = await self._read_bounded(receive)
        if first is None:
            await self._refuse(scope, receive, send)
            return
        await self.app(scope, _replay(first, receive), send)

    async def _read_bounded(self, receive: Receive) -> Message | None:
        """The whole body as one message, or None once it passes the limit."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client left: the route sees the disconnect as it would have.
                return message
            body += message.get("body", b"")
            if len(body) > self.limit:
                return None
            if not message.get("more_body", False):
                return {"type": "http.request", "body": bytes(body), "more_body": False}

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        exc = PayloadTooLarge(f"the request body is over {self.limit} bytes")
        await error_response(exc)(scope, receive, send)


def _replay(first: Message, receive: Receive) -> Receive:
    """A receive that hands out first, then whatever the server sends next (a disconnect)."""
    pending: list[Message] = [first]

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replayed
