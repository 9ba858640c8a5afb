"""GET /v1/jobs/{id}/artifacts[/{name}]: list and download what a job produced."""

from __future__ import annotations

import json
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from spark.artifacts import ArtifactStore
from spark.db import jobs as job_queries
from spark.domain.jobs import Job
from spark.domain.principals import Permission, Principal
from spark.errors import NotFound
from spark.web.services import authenticate, services


async def _owned_job(request: Request, principal: Principal) -> Job:
    job_id: uuid.UUID = request.path_params["job_id"]
    db = services(request).db

    def read() -> Job | None:
        with db.read_session() as s:
            return job_queries.get_job(s, job_id, principal.user)

    job = await run_in_threadpool(read)
    if job is None:
        raise NotFound("no such job")
    return job


def _listed(job: Job) -> list[dict[str, object]]:
    artifacts = (job.result or {}).get("artifacts", [])
    return [a for a in artifacts if isinstance(a, dict)]


async def list_artifacts(request: Request) -> Response:
    """The job's artifacts (name, size, sha256, content type)."""
    job = await _owned_job(request, await authenticate(request, Permission.READ))
    body = {
        "items": [{**a, "href": f"/v1/jobs/{job.id}/artifacts/{a['name']}"} for a in _listed(job)]
    }
    return Response(json.dumps(body), media_type="application/json")


async def download_artifact(request: Request) -> Response:
    """One artifact's bytes."""
    job = await _owned_job(request, await authenticate(request, Permission.READ))
    name = request.path_params["name"]
    listed = next((a for a in _listed(job) if a.get("name") == name), None)
    path = ArtifactStore(services(request).settings.artifact_dir).path(job.id, name)
    if listed is None or path is None:
        raise NotFound("no such artifact")
    return FileResponse(
        path,
        media_type=str(listed.get("content_type") or "application/octet-stream"),
        filename=name,
    )


routes = [
    Route("/v1/jobs/{job_id:uuid}/artifacts", list_artifacts, methods=["GET"]),
    Route("/v1/jobs/{job_id:uuid}/artifacts/{name}", download_artifact, methods=["GET"]),
]
