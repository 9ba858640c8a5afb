"""/v1/jobs: submit, read, list, cancel."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark import logs, metrics
from spark.contracts.assist import Caller
from spark.contracts.jobs import JobOut, JobPage, JobSubmission, SessionId
from spark.contracts.params import Params
from spark.contracts.queries import BLANK_IS_NONE
from spark.db import jobs as job_queries
from spark.domain.jobs import Job, JobKind, JobState
from spark.errors import Forbidden, NotFound, ValidationFailed
from spark.jobs import lifecycle, reads
from spark.jobs.submit import NewJob, accept, request_hash
from spark.kinds import KindSpec, job_permissions, spec_of
from spark.web.bodies import parse, read_json
from spark.web.compression import json_response
from spark.web.cursors import after_stamp, decode_after_stamp
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, require_any, services

log = logging.getLogger(__name__)


def _job_response(job: Job, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # pydantic's own serializer writes the JSON in one step, faster than dump + json.dumps
    body = JobOut.from_job(job).model_dump_json()
    return Response(body, status, headers, media_type="application/json")


def _check_params(submission: JobSubmission, spec: KindSpec) -> dict[str, Any]:
    if not spec.available:
        raise ValidationFailed(
            f"kind: '{submission.kind.value}' jobs are not available on this server yet",
            details={"field": "kind"},
        )
    if spec.needs_project and submission.project_id is None:
        raise ValidationFailed(
            f"project_id: {submission.kind.value} jobs need the project to work on",
            details={"field": "project_id"},
        )
    params = parse(spec.params, submission.params, prefix="params")
    _check_project_needed(params, submission)
    if getattr(params, "write_to_project", False) and submission.project_id is None:
        raise ValidationFailed(
            "params.write_to_project: writing into a project needs its project_id",
            details={"field": "params.write_to_project"},
        )
    # by alias: the job keeps its params under the names the caller used (`validate`)
    return params.model_dump(mode="json", by_alias=True)


def _check_project_needed(params: Params, submission: JobSubmission) -> None:
    needed = params.project_needed()
    if needed is not None and submission.project_id is None:
        field, why = needed
        raise ValidationFailed(
            f"params.{field}: {why}; that needs a project_id",
            details={"field": f"params.{field}"},
        )


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ValidationFailed(
            "Idempotency-Key: must be 1 to 255 printable characters",
            details={"field": "Idempotency-Key"},
        )
    return key


async def submit_job(request: Request) -> Response:
    """POST /v1/jobs: accept a job and answer 202 with where to poll it."""
    principal = principal_of(request)
    svc = services(request)
    body = await read_json(request)
    submission = parse(JobSubmission, body)
    spec = spec_of(submission.kind)
    needed = spec.permission
    if not principal.can(needed):
        raise Forbidden(f"submitting {submission.kind.value} jobs needs {needed.value}")
    params = _check_params(submission, spec)
    if spec.records_caller:
        # Never what the request says: what this credential may do, for the job to act within.
        params = {**params, "caller": Caller.of(principal).model_dump(mode="json")}
    for extra in sorted(spec.permissions_for(params) - {needed}):
        if not principal.can(extra):
            raise Forbidden(f"verify runs steps on the build farm: it needs {extra.value}")
    new = NewJob(
        owner=principal.user,
        subject=principal.subject,
        kind=submission.kind,
        params=params,
        session_id=submission.session_id,
        project_id=submission.project_id,
        priority=submission.priority,
        idempotency_key=_idempotency_key(request),
        request_hash=request_hash(body),
        limits=svc.tiers[principal.tier.value],
        request_id=logs.REQUEST_ID.get(),
    )
    done = await accept(svc.adb, svc.sender, new, svc.farm)
    logs.JOB_ID.set(str(done.job.id))  # reset by RequestIdMiddleware once the response is sent
    if log.isEnabledFor(logging.DEBUG):
        log.debug("accepted job %s: %s %s", done.job.id, new.kind.value, logs.summary(new.params))
    if done.created:
        metrics.job_submitted(new.kind.value)
    headers = {"Location": f"/v1/jobs/{done.job.id}"}
    if not done.created:
        headers["Idempotent-Replayed"] = "true"
    return _job_response(done.job, 202, headers)


async def get_job(request: Request) -> Response:
    """GET /v1/jobs/{id}: the caller's job, or 404."""
    principal = principal_of(request)
    job_id: uuid.UUID = request.path_params["job_id"]
    adb = services(request).adb
    job = await job_queries.read_owned_job(adb, job_id, principal.user, replica=True)
    if job is None and adb.db.replica_url is not None:
        # The replica may lag a fresh submission: fall back to the primary.
        job = await job_queries.read_owned_job(adb, job_id, principal.user)
    if job is None:
        raise NotFound("no such job")
    return _job_response(job)


class ListQuery(BaseModel):
    """Query parameters of GET /v1/jobs."""

    model_config = ConfigDict(extra="forbid")

    kind: Annotated[JobKind | None, BLANK_IS_NONE] = None
    state: Annotated[JobState | None, BLANK_IS_NONE] = None
    session_id: Annotated[SessionId | None, BLANK_IS_NONE] = None
    project_id: Annotated[uuid.UUID | None, BLANK_IS_NONE] = None
    parent_id: Annotated[uuid.UUID | None, BLANK_IS_NONE] = None
    limit: int = Field(default=20, ge=1, le=100)
    cursor: Annotated[str | None, BLANK_IS_NONE] = None


async def list_jobs(request: Request) -> Response:
    """GET /v1/jobs: the caller's jobs, newest first, filtered, one page at a time."""
    principal = principal_of(request)
    query = parse(ListQuery, dict(request.query_params))
    after = job_queries.Cursor(*decode_after_stamp(query.cursor)) if query.cursor else None
    filters = job_queries.JobFilters(
        query.kind, query.state, query.session_id, query.project_id, query.parent_id
    )
    db = services(request).db
    jobs = await run_in_threadpool(reads.page, db, principal.user, filters, query.limit + 1, after)
    page, more = jobs[: query.limit], len(jobs) > query.limit
    body = JobPage(
        items=[JobOut.from_job(j) for j in page],
        next_cursor=after_stamp(page[-1].created_at, page[-1].id) if more else None,
    )
    return json_response(request, body.model_dump_json())


async def cancel_job(request: Request) -> Response:
    """POST /v1/jobs/{id}/cancel: 200 once canceled, 202 while a running job winds down."""
    principal = principal_of(request)
    require_any(principal, job_permissions(), "canceling a job")
    job_id: uuid.UUID = request.path_params["job_id"]
    svc = services(request)
    job = await run_in_threadpool(lifecycle.cancel, svc.db, svc.events, principal.user, job_id)
    return _job_response(job, 200 if job.state.terminal else 202)


routes = [
    ApiRoute("/v1/jobs", submit_job, method="POST"),
    ApiRoute("/v1/jobs", list_jobs, method="GET", query=ListQuery),
    ApiRoute("/v1/jobs/{job_id:uuid}", get_job, method="GET"),
    ApiRoute("/v1/jobs/{job_id:uuid}/cancel", cancel_job, method="POST"),
]
