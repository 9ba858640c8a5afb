"""GET /v1/jobs/{id}/artifacts[/{name}]: list and download what a job produced.

A download streams from the store (a directory or S3) a chunk at a time, whole or one byte
range; with SPARK_ARTIFACT_REDIRECT it answers 302 to a short-lived presigned URL of the
object store instead, so multi-GB players do not pass through the API.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from spark.domain.jobs import Job
from spark.domain.principals import Principal
from spark.errors import NotFound, RangeNotSatisfiable
from spark.jobs import reads
from spark.web.headers import attachment
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, services

#: bytes per read when streaming an artifact
CHUNK = 1 << 16
#: how long a presigned download URL works: enough to start the download, not to share it
PRESIGN_EXPIRES_S = 300
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class ByteRange:
    """Bytes start to end (exclusive) of a file of size bytes."""

    start: int
    end: int
    size: int

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end - 1}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range a `Range: bytes=a-b | a- | -n` header asks for; None to send the whole
    file (no header, several ranges, or a header this does not understand, which RFC 9110
    lets a server ignore); RangeNotSatisfiable when it lies outside the file."""
    found = _RANGE.match((header or "").strip())
    if found is None or found.group(1) == found.group(2) == "":
        return None
    first, last = found.group(1), found.group(2)
    if first == "":
        # A suffix: the last n bytes.
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(0, size - length), size, size)
    start = int(first)
    if start >= size:
        raise RangeNotSatisfiable(size)
    end = size if last == "" else min(int(last) + 1, size)
    if end <= start:
        # `bytes=5-3` is not a valid range: the whole file, as for any invalid header.
        return None
    return ByteRange(start, end, size)


async def _owned_job(request: Request, principal: Principal) -> Job:
    job_id: uuid.UUID = request.path_params["job_id"]
    job = await run_in_threadpool(reads.owned, services(request).db, job_id, principal.user)
    if job is None:
        raise NotFound("no such job")
    return job


def _listed(job: Job) -> list[dict[str, Any]]:
    artifacts = (job.result or {}).get("artifacts", [])
    return [a for a in artifacts if isinstance(a, dict)]


async def list_artifacts(request: Request) -> Response:
    """The job's artifacts (name, size, sha256, content type, attempt, href)."""
    job = await _owned_job(request, principal_of(request))
    body = {
        "items": [{**a, "href": f"/v1/jobs/{job.id}/artifacts/{a['name']}"} for a in _listed(job)]
    }
    return Response(json.dumps(body), media_type="application/json")


async def download_artifact(request: Request) -> Response:
    """One artifact's bytes: whole, one range (206), or a redirect to the object store."""
    job = await _owned_job(request, principal_of(request))
    name = request.path_params["name"]
    listed = next((a for a in _listed(job) if a.get("name") == name), None)
    if listed is None:
        raise NotFound("no such artifact")
    storage = services(request).artifacts
    # A result from before artifacts were kept per attempt names none: the job's last.
    attempt = int(listed.get("attempt", job.attempts))
    if services(request).settings.artifact_redirect:
        url = await run_in_threadpool(storage.presign, job.id, attempt, name, PRESIGN_EXPIRES_S)
        if url is not None:
            return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
    size, sha256 = int(listed["size"]), str(listed["sha256"])
    headers = {
        "Content-Disposition": attachment(name),
        "Accept-Ranges": "bytes",
        "ETag": f'"{sha256}"',
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    wanted = _wanted_range(request, headers["ETag"], size)
    start, end = (0, None) if wanted is None else (wanted.start, wanted.end)
    stream = await run_in_threadpool(storage.open, job.id, attempt, name, start, end)
    if stream is None:
        raise NotFound("no such artifact")
    status = 200 if wanted is None else 206
    headers["Content-Length"] = str(size if wanted is None else wanted.end - wanted.start)
    if wanted is not None:
        headers["Content-Range"] = wanted.content_range
    media_type = str(listed.get("content_type") or "application/octet-stream")
    return StreamingResponse(_chunks(stream), status, headers, media_type)


def _wanted_range(request: Request, etag: str, size: int) -> ByteRange | None:
    """The range to send, honouring If-Range: a range of another version is the whole file."""
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range != etag:
        return None
    return parse_range(request.headers.get("range"), size)


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


routes = [
    ApiRoute("/v1/jobs/{job_id:uuid}/artifacts", list_artifacts, method="GET"),
    ApiRoute("/v1/jobs/{job_id:uuid}/artifacts/{name}", download_artifact, method="GET"),
]
