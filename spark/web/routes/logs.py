"""GET /v1/jobs/{id}/log: a job's log as plain text, from a line offset, optionally compact."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark.domain.jobs import Job
from spark.engines.unity.build_log import is_compact
from spark.errors import NotFound
from spark.jobs import reads
from spark.storage.logs import LogPage
from spark.web.bodies import parse
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, services

#: the most lines one response carries; followers page on with X-Next-Offset
MAX_LINES = 10_000


class LogQuery(BaseModel):
    """Query parameters of GET /v1/jobs/{id}/log."""

    model_config = ConfigDict(extra="forbid")

    offset_lines: int = Field(default=0, ge=0)
    compact: bool = False
    limit: int = Field(default=MAX_LINES, ge=1, le=MAX_LINES)


async def job_log(request: Request) -> Response:
    """The log from offset_lines on; compact keeps errors and warnings only.

    X-Next-Offset is the raw line to ask for next (compact mode skips lines but still
    counts them), and X-Log-Complete says the job has ended, so a follower can stop.
    """
    principal = principal_of(request)
    query = parse(LogQuery, dict(request.query_params))
    job_id: uuid.UUID = request.path_params["job_id"]
    svc = services(request)

    def read() -> tuple[Job | None, LogPage | None]:
        # The job first: its state says whether the log read after it is complete.
        job = reads.owned(svc.db, job_id, principal.user)
        if job is None:
            return None, None
        # Compact is the build log's notion (errors and warnings); the store only pages lines.
        keep = is_compact if query.compact else None
        page = svc.logs.read(job_id, query.offset_lines, keep, query.limit)
        return job, page

    job, page = await run_in_threadpool(read)
    if job is None:
        raise NotFound("no such job")
    lines = page.lines if page is not None else ()
    headers = {
        "X-Next-Offset": str(page.next_offset if page is not None else query.offset_lines),
        "X-Total-Lines": str(page.total_lines if page is not None else 0),
        "X-Log-Complete": "true" if job.state.terminal else "false",
        "Cache-Control": "no-store",
    }
    body = "".join(f"{line}\n" for line in lines)
    return Response(body, headers=headers, media_type="text/plain; charset=utf-8")


routes = [ApiRoute("/v1/jobs/{job_id:uuid}/log", job_log, method="GET", query=LogQuery)]
