"""/v1/sessions: open, list, read (messages, jobs, usage) and end sessions."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark import logs, metrics
from spark.contracts.assist import AssistParams, Caller, MessageIn
from spark.contracts.jobs import JobOut, JobPage
from spark.contracts.queries import BLANK_IS_NONE
from spark.contracts.sessions import (
    SessionDetailOut,
    SessionIn,
    SessionOut,
    SessionPage,
    SessionUsageOut,
    messages_of,
)
from spark.db.jobs import Cursor
from spark.domain.jobs import JobKind
from spark.domain.sessions import SessionState, may_be_session
from spark.errors import Forbidden, NotFound
from spark.jobs import sessions
from spark.jobs.submit import NewJob, accept
from spark.kinds import spec_of
from spark.web.bodies import parse, read_json
from spark.web.cursors import (
    after_session,
    after_stamp,
    decode_after_session,
    decode_after_stamp,
)
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, services


def _json(body: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body.model_dump_json(), status, headers, media_type="application/json")


class ListQuery(BaseModel):
    """Query parameters of GET /v1/sessions."""

    model_config = ConfigDict(extra="forbid")

    state: Annotated[SessionState | None, BLANK_IS_NONE] = None
    limit: int = Field(default=20, ge=1, le=100)
    cursor: Annotated[str | None, BLANK_IS_NONE] = None


class DetailQuery(BaseModel):
    """Query parameters of GET /v1/sessions/{id}: the page of its jobs to show."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: Annotated[str | None, BLANK_IS_NONE] = None


def _session_id(request: Request) -> str:
    # Only ids SPARK mints can name a session; anything else names none.
    session_id: str = request.path_params["session_id"]
    if not may_be_session(session_id):
        raise NotFound("no such session")
    return session_id


async def create_session(request: Request) -> Response:
    """POST /v1/sessions: open a session under the tier's concurrent-sessions quota."""
    principal = principal_of(request)
    svc = services(request)
    body = parse(SessionIn, await read_json(request))
    limits = svc.tiers[principal.tier.value]
    opened = await run_in_threadpool(
        sessions.open_session,
        svc.db,
        svc.events,
        principal.user,
        limits,
        body.title,
        body.project_id,
    )
    headers = {"Location": f"/v1/sessions/{opened.id}"}
    return _json(SessionOut.from_session(opened), 201, headers)


async def list_sessions(request: Request) -> Response:
    """GET /v1/sessions: the caller's sessions, newest first, one page at a time."""
    principal = principal_of(request)
    query = parse(ListQuery, dict(request.query_params))
    after = decode_after_session(query.cursor) if query.cursor else None
    found, more = await run_in_threadpool(
        sessions.page, services(request).db, principal.user, query.state, query.limit, after
    )
    last = found[-1] if more else None
    page = SessionPage(
        items=[SessionOut.from_session(s) for s in found],
        next_cursor=after_session(last.created_at, last.id) if last else None,
    )
    return _json(page)


async def get_session(request: Request) -> Response:
    """GET /v1/sessions/{id}: the caller's session with its messages, jobs and usage."""
    principal = principal_of(request)
    # the request's own faults first (a forged cursor is a 422 whatever the session)
    query = parse(DetailQuery, dict(request.query_params))
    after = Cursor(*decode_after_stamp(query.cursor)) if query.cursor else None
    session_id = _session_id(request)
    svc = services(request)
    seen = await run_in_threadpool(
        sessions.view,
        svc.db,
        svc.settings.prices,
        session_id,
        principal.user,
        (query.limit, after),
    )
    last = seen.jobs[-1] if seen.more_jobs else None
    usage = seen.usage
    body = SessionDetailOut(
        **SessionOut.from_session(seen.session).model_dump(),
        messages=messages_of(seen.turns),
        jobs=JobPage(
            items=[JobOut.from_job(j) for j in seen.jobs],
            next_cursor=after_stamp(last.created_at, last.id) if last else None,
        ),
        usage=SessionUsageOut(
            jobs=usage.jobs,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            tokens=usage.tokens_in + usage.tokens_out,
            cost=seen.cost,
            unpriced_models=list(seen.unpriced),
        ),
    )
    return _json(body)


async def end_session(request: Request) -> Response:
    """POST /v1/sessions/{id}/end: end the caller's open session; 409 once ended."""
    principal = principal_of(request)
    session_id = _session_id(request)
    svc = services(request)
    ended = await run_in_threadpool(
        sessions.end_session, svc.db, svc.events, principal.user, session_id
    )
    return _json(SessionOut.from_session(ended))


async def post_message(request: Request) -> Response:
    """POST /v1/sessions/{id}/messages: queue the session's next turn, an assist job on the
    session's project, and announce the message (202 with the job)."""
    principal = principal_of(request)
    session_id = _session_id(request)
    svc = services(request)
    body = parse(MessageIn, await read_json(request))
    needed = spec_of(JobKind.ASSIST).permission
    if not principal.can(needed):
        raise Forbidden(f"a session's messages are assist jobs: they need {needed.value}")
    session = await run_in_threadpool(sessions.owned, svc.db, session_id, principal.user)
    # What this credential may do is stored with the turn, which acts only within it.
    params = AssistParams(text=body.text, caller=Caller.of(principal))
    new = NewJob(
        owner=principal.user,
        subject=principal.subject,
        kind=JobKind.ASSIST,
        params=params.model_dump(mode="json", by_alias=True),
        session_id=session.id,
        project_id=session.project_id,
        limits=svc.tiers[principal.tier.value],
        request_id=logs.REQUEST_ID.get(),
    )
    done = await accept(svc.adb, svc.sender, new, svc.farm)
    logs.JOB_ID.set(str(done.job.id))
    metrics.job_submitted(JobKind.ASSIST.value)
    data = {"role": "user"}
    await run_in_threadpool(sessions.announce_message, svc.db, svc.events, session, done.job, data)
    headers = {"Location": f"/v1/jobs/{done.job.id}"}
    return _json(JobOut.from_job(done.job), 202, headers)


routes = [
    ApiRoute("/v1/sessions", create_session, method="POST"),
    ApiRoute("/v1/sessions", list_sessions, method="GET", query=ListQuery),
    ApiRoute("/v1/sessions/{session_id}", get_session, method="GET", query=DetailQuery),
    ApiRoute("/v1/sessions/{session_id}/end", end_session, method="POST"),
    ApiRoute("/v1/sessions/{session_id}/messages", post_message, method="POST"),
]
