"""JSON answers gzipped for a client that accepts it, when they are big enough to gain.

A page of 100 jobs (each with its params and result, a script's code among them) is about
130 KB of JSON and a tenth of that gzipped; the console reads one on every load. Only routes
that answer large JSON pages call this: the others stay as they are (small answers gain
nothing, and streams and byte ranges must not be re-encoded).
"""

from __future__ import annotations

import gzip

from starlette.requests import Request
from starlette.responses import Response

#: below this a body fits a packet or two anyway
MIN_BYTES = 1400
#: fast, and within a few percent of level 9 on JSON
LEVEL = 5


def accepts_gzip(request: Request) -> bool:
    """Whether Accept-Encoding names gzip (or *) without refusing it with q=0."""
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        q = params.replace(" ", "").lower()
        try:
            return not q.startswith("q=") or float(q[2:]) > 0
        except ValueError:
            return True
    return False


def json_response(request: Request, body: str | bytes, status_code: int = 200) -> Response:
    """body as application/json, gzipped when the client accepts it and it is large."""
    raw = body.encode() if isinstance(body, str) else body
    headers = {"Vary": "Accept-Encoding"}
    if len(raw) >= MIN_BYTES and accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        raw = gzip.compress(raw, compresslevel=LEVEL, mtime=0)
    return Response(raw, status_code, headers, media_type="application/json")
