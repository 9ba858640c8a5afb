"""GET /v1/events: every event of the caller's jobs and sessions, as JSON or live as
Server-Sent Events.

One stream follows all of a user's jobs, where a client would otherwise hold a stream per
job (a browser allows six connections to one host). The live stream reads stored events by
time; an event can be stored a little after a later one of another job (each worker's sink
and the consumer write on their own), so each poll reads back OVERLAP_S and skips the ids
it already sent: such an event is late, never lost, and never sent twice.

A stream outlives the check its request passed, so it checks the credential again every
RECHECK_S and ends once the key is revoked or the token expired: the client's reconnect then
gets the 401 that says why.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark.contracts.jobs import SessionId
from spark.contracts.queries import BLANK_IS_NONE
from spark.db.events import EventFilter
from spark.domain.events import Event
from spark.domain.jobs import JobKind
from spark.errors import Unauthenticated
from spark.events import history
from spark.services import Services
from spark.web.bodies import parse
from spark.web.routing import ApiRoute
from spark.web.services import presented_token, principal_for, principal_of, services

#: how often a live stream looks for new events
POLL_S = 0.25
#: how far back each poll reads again for events stored late (see the module's doc)
OVERLAP_S = 5.0
#: at most this many events per poll, and per JSON answer
BATCH = 2000
#: how often a live stream checks that its credential still holds
RECHECK_S = 5.0


class FeedQuery(BaseModel):
    """Query parameters of GET /v1/events."""

    model_config = ConfigDict(extra="forbid")

    kind: Annotated[JobKind | None, BLANK_IS_NONE] = None
    session_id: Annotated[SessionId | None, BLANK_IS_NONE] = None
    project_id: Annotated[uuid.UUID | None, BLANK_IS_NONE] = None
    #: JSON only: events from this time on (default: the last hour)
    since: Annotated[AwareDatetime | None, BLANK_IS_NONE] = None
    #: JSON only: at most this many, oldest first
    limit: int = Field(default=500, ge=1, le=BATCH)


class _Sent:
    """The ids a stream has sent, kept for as long as a poll can read them again."""

    def __init__(self) -> None:
        self.ids: dict[uuid.UUID, datetime] = {}
        self.newest: datetime | None = None

    def floor(self, now: datetime) -> datetime:
        """Where the next poll starts reading."""
        return min(self.newest or now, now) - timedelta(seconds=OVERLAP_S)

    def add(self, event: Event) -> bool:
        """Record event; False when it was sent before."""
        if event.id in self.ids:
            return False
        self.ids[event.id] = event.ts
        self.newest = max(self.newest or event.ts, event.ts)
        return True

    def forget_before(self, floor: datetime) -> None:
        self.ids = {i: ts for i, ts in self.ids.items() if ts >= floor}


async def _poll(svc: Services, owner: str, only: EventFilter, sent: _Sent) -> list[Event]:
    floor = sent.floor(datetime.now(UTC))
    batch = await run_in_threadpool(history.owner_since, svc.db, owner, floor, only, BATCH)
    sent.forget_before(floor)
    return [event for event in batch if sent.add(event)]


async def _holds(svc: Services, token: str) -> bool:
    """Whether token is still a valid credential (the verifier's cache bounds the delay)."""
    try:
        await principal_for(svc, token)
    except Unauthenticated:
        return False
    return True


async def _live(
    svc: Services, owner: str, token: str, only: EventFilter, sent: _Sent
) -> AsyncIterator[dict[str, str]]:
    checked = time.monotonic()
    while True:
        for event in await _poll(svc, owner, only, sent):
            yield {"id": str(event.id), "event": event.type.value, "data": _json(event)}
        if time.monotonic() - checked > RECHECK_S:
            if not await _holds(svc, token):
                return
            checked = time.monotonic()
        await asyncio.sleep(POLL_S)


def _json(event: Event) -> str:
    return json.dumps(event.envelope())


async def user_events(request: Request) -> Response:
    """The caller's events: live from now with text/event-stream, else those since `since`."""
    owner = principal_of(request).user
    query = parse(FeedQuery, dict(request.query_params))
    only = EventFilter(query.kind.value if query.kind else None, query.session_id, query.project_id)
    svc = services(request)
    if "text/event-stream" in request.headers.get("accept", ""):
        # What was stored before the stream opens is history, read before the response
        # starts: whatever is stored once the client has the headers is sent. (Read after
        # them, an event stored in between would count as history, and be lost.)
        sent = _Sent()
        await _poll(svc, owner, only, sent)
        stream = _live(svc, owner, presented_token(request), only, sent)
        return EventSourceResponse(stream, ping=15)
    since = query.since or datetime.now(UTC) - timedelta(hours=1)
    events = await run_in_threadpool(history.owner_since, svc.db, owner, since, only, query.limit)
    body = json.dumps({"items": [e.envelope() for e in events]})
    return Response(body, media_type="application/json")


routes = [ApiRoute("/v1/events", user_events, method="GET", query=FeedQuery)]
