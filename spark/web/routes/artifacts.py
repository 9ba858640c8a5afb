"""GET /v1/jobs/{id}/artifacts[/{name}]: list and download what a job produced."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import BinaryIO

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from spark.domain.jobs import Job
from spark.domain.principals import Principal
from spark.errors import NotFound
from spark.jobs import reads
from spark.web.headers import attachment
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, services

#: bytes per read when streaming an artifact from a store without local files
CHUNK = 1 << 16


async def _owned_job(request: Request, principal: Principal) -> Job:
    job_id: uuid.UUID = request.path_params["job_id"]
    job = await run_in_threadpool(reads.owned, services(request).db, job_id, principal.user)
    if job is None:
        raise NotFound("no such job")
    return job


def _listed(job: Job) -> list[dict[str, object]]:
    artifacts = (job.result or {}).get("artifacts", [])
    return [a for a in artifacts if isinstance(a, dict)]


async def list_artifacts(request: Request) -> Response:
    """The job's artifacts (name, size, sha256, content type)."""
    job = await _owned_job(request, principal_of(request))
    body = {
        "items": [{**a, "href": f"/v1/jobs/{job.id}/artifacts/{a['name']}"} for a in _listed(job)]
    }
    return Response(json.dumps(body), media_type="application/json")


async def download_artifact(request: Request) -> Response:
    """One artifact's bytes."""
    job = await _owned_job(request, principal_of(request))
    name = request.path_params["name"]
    listed = next((a for a in _listed(job) if a.get("name") == name), None)
    if listed is None:
        raise NotFound("no such artifact")
    storage = services(request).artifacts
    media_type = str(listed.get("content_type") or "application/octet-stream")
    path = storage.path(job.id, name)
    if path is not None:
        return FileResponse(path, media_type=media_type, filename=name)
    # A store without local files (an object store) streams the artifact instead.
    stream = storage.open(job.id, name)
    if stream is None:
        raise NotFound("no such artifact")
    headers = {"Content-Disposition": attachment(name)}
    return StreamingResponse(_chunks(stream), media_type=media_type, headers=headers)


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield chunk


routes = [
    ApiRoute("/v1/jobs/{job_id:uuid}/artifacts", list_artifacts, method="GET"),
    ApiRoute("/v1/jobs/{job_id:uuid}/artifacts/{name}", download_artifact, method="GET"),
]
