"""The HTTP/1.1 protocol the API is served with: uvicorn's httptools protocol with a ceiling
on the request head, and its own refusals in the error format of every other response.

httptools on its own buffers a request head of any size (a single 8 MB header is read
whole), so one connection could make the process hold as much as it cares to send.
HEAD_CEILING bounds that here, well above the documented MAX_HEADER_BYTES that
HeaderLimitMiddleware answers with a JSON 431 (spark/web/guards.py).
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from spark.errors import AppError, BadRequest, HeadersTooLarge
from spark.web.headers import EVERY_RESPONSE
from spark.web.request_id import new_request_id

#: bytes a connection may send before its request head is complete; counted per read, so a
#: head is cut off somewhere between this and this plus one socket read (256 KiB)
HEAD_CEILING = 1024 * 1024

#: for uvicorn's `http` option (an import string, so it also reaches worker processes)
PROTOCOL = "spark.web.server:BoundedHttpToolsProtocol"


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses a head over HEAD_CEILING and answers in JSON."""

    _head_bytes = 0
    _in_head = True

    def data_received(self, data: bytes) -> None:
        """Count what arrives while a head is incomplete before the parser buffers it."""
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > HEAD_CEILING:
                self._refuse(HeadersTooLarge(f"the request head is over {HEAD_CEILING} bytes"))
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        """The head is whole: what follows is body, bounded by BodyLimitMiddleware."""
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The next bytes on a kept-alive connection begin the next head."""
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0

    def send_400_response(self, msg: str) -> None:
        """The parser's refusal of a malformed request, in the error format."""
        self._refuse(BadRequest(f"the request is not valid HTTP/1.1: {msg}"))

    def _refuse(self, exc: AppError) -> None:
        body = json.dumps({"error": {"code": exc.code, "message": exc.message}}).encode()
        head = [STATUS_LINE[exc.status]]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            # the app never saw this request, so the id is made here (CONTRACT §4: every one)
            b"x-request-id: " + new_request_id().encode() + b"\r\n",
            b"content-type: application/json\r\n",
            *(name + b": " + value + b"\r\n" for name, value in EVERY_RESPONSE),
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
