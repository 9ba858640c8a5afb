"""GET /console: the web console, static files shipped in the package (spark/web/console/).

The files hold no data and need no key: the page asks for one and calls the public API with
it. Every console response carries a strict Content-Security-Policy: scripts and styles from
SPARK only, no inline script, no eval, connections to SPARK only, never framed; Trusted Types
are required, so an assignment of a string to innerHTML or a script URL throws instead of
running (the console builds every element with the DOM API and sets text as text). Images
may be blob: URLs: a frame is fetched with the key, then shown from memory.

The files are read and gzipped once per process. A path with an extension is a file (404
when there is none); any other path under /console is a page of the console, which routes
in the browser, so a reload or a shared link opens the same page.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spark.errors import NotFound

ROOT = Path(__file__).resolve().parent.parent / "console"
INDEX = "index.html"

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # always revalidated (cheap: a 304 by ETag), so a new SPARK's console is never mixed with
    # an old one's cached modules
    "Cache-Control": "no-cache",
    "Vary": "Accept-Encoding",
}
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css"}


@dataclass(frozen=True)
class Asset:
    """One console file: its bytes, gzipped bytes, type and ETag."""

    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


@functools.cache
def assets() -> dict[str, Asset]:
    """Every console file by its path under /console/."""
    found = {}
    for path in sorted(ROOT.rglob("*")):
        if path.is_file():
            body = path.read_bytes()
            media = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
            found[path.relative_to(ROOT).as_posix()] = Asset(
                body,
                gzip.compress(body, compresslevel=9, mtime=0),
                media or "application/octet-stream",
                '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            )
    return found


def _serve(request: Request, asset: Asset) -> Response:
    headers = {**HEADERS, "ETag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


async def page(request: Request) -> Response:
    """The console's page, for /console and each of its routes."""
    return _serve(request, assets()[INDEX])


async def file(request: Request) -> Response:
    """A console file (script, style, icon), or the page for a console route."""
    path: str = request.path_params["path"]
    if "." not in path.rsplit("/", 1)[-1]:
        return await page(request)
    asset = assets().get(path)
    if asset is None:
        raise NotFound("no such console file")
    return _serve(request, asset)


routes = [
    Route("/console", page, methods=["GET"]),
    Route("/console/{path:path}", file, methods=["GET"]),
]
