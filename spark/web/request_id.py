"""X-Request-ID: every response carries the caller's request id, or a new one, and every log
line written while serving the request names it. Being the outermost layer, it also adds the
headers every response needs (spark/web/headers.py)."""

from __future__ import annotations

import re
from random import getrandbits

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spark import logs
from spark.web.headers import EVERY_RESPONSE

HEADER = b"x-request-id"

#: what a caller's id may look like: enough for a UUID, a trace id or a short tag, nothing a
#: log line or a header could be abused with
VALID_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


# A uuid4's version and variant bits, set on 128 random bits: uuid.uuid4() itself costs several µs,
# more than the rest of this middleware; an id only needs to be unique, not unguessable.
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (0x4000 << 64) | (0x8000 << 48)


def new_request_id() -> str:
    """A new request id: a random uuid4, as 32 hex digits."""
    return f"{getrandbits(128) & _CLEAR | _SET:032x}"


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-ID if it is a sane one, else a new one (uuid4 hex)."""
    for name, value in headers:
        if name == HEADER:
            if VALID_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return new_request_id()


class RequestIdMiddleware:
    """Puts the request id in the log context and on the response, whatever answers it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with its id known to the logs and echoed on the response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        # Also on the request's state: work the request hands to tasks of other contexts (an
        # MCP tool call, run in the MCP server's task group) reads it there.
        scope.setdefault("state", {})["request_id"] = request_id
        header = (HEADER, request_id.encode())
        tokens = (logs.REQUEST_ID.set(request_id), logs.JOB_ID.set(None), logs.USER.set(None))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), header, *EVERY_RESPONSE]
                message = {**message, "headers": headers}
                # The server's access line is written as the response starts: let it name the
                # job the route served, when the route did not already.
                job_id = scope.get("path_params", {}).get("job_id")
                if job_id is not None and logs.JOB_ID.get() is None:
                    logs.JOB_ID.set(str(job_id))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logs.REQUEST_ID.reset(tokens[0])
            logs.JOB_ID.reset(tokens[1])
            logs.USER.reset(tokens[2])
