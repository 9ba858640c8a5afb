"""GET /v1/jobs/{id}/events: the job's events as JSON, or live as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark.db import events as event_queries
from spark.db import jobs as job_queries
from spark.db.engine import Database
from spark.domain.events import TERMINAL_TYPES, Event
from spark.errors import NotFound
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, services

#: how often a live stream looks for new events
POLL_S = 0.2
#: a stream ends this long after the job ended even if its terminal event never arrives
#: (no consumer is running), so clients are not held forever
TERMINAL_GRACE_S = 5.0

Cursor = tuple[datetime, uuid.UUID]


def _read(db: Database, job_id: uuid.UUID, after: Cursor | None, limit: int) -> list[Event]:
    with db.read_session() as s:
        return event_queries.events_after(s, job_id, after, limit)


def _job_ended(db: Database, job_id: uuid.UUID) -> bool:
    with db.read_session() as s:
        job = job_queries.get_job(s, job_id)
    return job is None or job.state.terminal


def _resume_from(db: Database, job_id: uuid.UUID, last_id: str | None) -> Cursor | None:
    """Where a reconnecting client (Last-Event-ID) left off."""
    try:
        event_id = uuid.UUID(last_id) if last_id else None
    except ValueError:
        return None
    if event_id is None:
        return None
    with db.read_session() as s:
        return event_queries.event_position(s, job_id, event_id)


async def _live(
    db: Database, job_id: uuid.UUID, after: Cursor | None
) -> AsyncIterator[dict[str, str]]:
    ended_at: float | None = None
    while True:
        batch = await run_in_threadpool(_read, db, job_id, after, 500)
        for event in batch:
            yield {
                "id": str(event.id),
                "event": event.type.value,
                "data": json.dumps(event.envelope()),
            }
            after = (event.ts, event.id)
            if event.type in TERMINAL_TYPES:
                return
        if not batch and await run_in_threadpool(_job_ended, db, job_id):
            ended_at = ended_at or time.monotonic()
            if time.monotonic() - ended_at > TERMINAL_GRACE_S:
                return
        await asyncio.sleep(POLL_S)


async def job_events(request: Request) -> Response:
    """The caller's job's events, oldest first; live until the job ends with text/event-stream."""
    principal = principal_of(request)
    job_id: uuid.UUID = request.path_params["job_id"]
    db = services(request).db

    def owned() -> bool:
        with db.read_session() as s:
            return job_queries.get_job(s, job_id, principal.user) is not None

    if not await run_in_threadpool(owned):
        raise NotFound("no such job")
    if "text/event-stream" in request.headers.get("accept", ""):
        last_id = request.headers.get("last-event-id")
        after = await run_in_threadpool(_resume_from, db, job_id, last_id)
        return EventSourceResponse(_live(db, job_id, after), ping=15)
    events = await run_in_threadpool(_read, db, job_id, None, 10_000)
    body = json.dumps({"items": [e.envelope() for e in events]})
    return Response(body, media_type="application/json")


routes = [ApiRoute("/v1/jobs/{job_id:uuid}/events", job_events, method="GET")]
