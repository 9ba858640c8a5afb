"""GET /v1/jobs/{id}/events: the job's events as JSON, or live as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark.domain.events import TERMINAL_TYPES
from spark.errors import NotFound
from spark.events import history
from spark.events.history import Position
from spark.jobs import reads
from spark.services import Services
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, services

#: how often a live stream looks for new events
POLL_S = 0.2
#: a stream ends this long after the job ended even if its terminal event never arrives
#: (no consumer is running), so clients are not held forever
TERMINAL_GRACE_S = 5.0


def _resume_from(svc: Services, job_id: uuid.UUID, last_id: str | None) -> Position | None:
    """Where a reconnecting client (Last-Event-ID) left off."""
    try:
        event_id = uuid.UUID(last_id) if last_id else None
    except ValueError:
        return None
    if event_id is None:
        return None
    return history.position_of(svc.db, job_id, event_id)


async def _live(
    svc: Services, job_id: uuid.UUID, after: Position | None
) -> AsyncIterator[dict[str, str]]:
    ended_at: float | None = None
    while True:
        batch = await run_in_threadpool(history.after, svc.db, job_id, after, 500)
        for event in batch:
            yield {
                "id": str(event.id),
                "event": event.type.value,
                "data": json.dumps(event.envelope()),
            }
            after = (event.ts, event.id)
            if event.type in TERMINAL_TYPES:
                return
        if not batch and await run_in_threadpool(reads.has_ended, svc.db, job_id):
            ended_at = ended_at or time.monotonic()
            if time.monotonic() - ended_at > TERMINAL_GRACE_S:
                return
        await asyncio.sleep(POLL_S)


async def job_events(request: Request) -> Response:
    """The caller's job's events, oldest first; live until the job ends with text/event-stream."""
    principal = principal_of(request)
    job_id: uuid.UUID = request.path_params["job_id"]
    svc = services(request)
    if await run_in_threadpool(reads.owned, svc.db, job_id, principal.user) is None:
        raise NotFound("no such job")
    if "text/event-stream" in request.headers.get("accept", ""):
        last_id = request.headers.get("last-event-id")
        after = await run_in_threadpool(_resume_from, svc, job_id, last_id)
        return EventSourceResponse(_live(svc, job_id, after), ping=15)
    events = await run_in_threadpool(history.after, svc.db, job_id, None, 10_000)
    body = json.dumps({"items": [e.envelope() for e in events]})
    return Response(body, media_type="application/json")


routes = [ApiRoute("/v1/jobs/{job_id:uuid}/events", job_events, method="GET")]
