"""Sessions: opened under the tier's concurrent-sessions quota, ended by their user or after
SPARK_SESSION_IDLE_S without a new job, and read with their turns, jobs and usage.

Each change of state stages its event (`spark.session.{started|ended}.{session}`) in the
event outbox within the transaction that makes the change, and hands it to the sink once
committed, as a job's end does: an event is never lost to a process that dies in between,
nor announced for a change that rolled back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from spark import metrics
from spark.config import ModelPrice, TierLimits
from spark.db import events as event_queries
from spark.db import jobs as job_queries
from spark.db import projects as project_queries
from spark.db import sessions as session_queries
from spark.db.aio import AsyncDatabase
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.events import EventType
from spark.domain.jobs import Job
from spark.domain.sessions import (
    Session,
    SessionState,
    SessionUsage,
    Turn,
    may_be_session,
    new_session_id,
)
from spark.errors import NotFound, SessionEnded
from spark.events.envelope import session_event
from spark.events.sink import EventSink
from spark.llm.prices import cost_of, priced
from spark.security import quotas

log = logging.getLogger(__name__)

#: the most turns GET /v1/sessions/{id} shows
MAX_TURNS = 200
#: sessions one sweep transaction ends at most
IDLE_BATCH = 500


@dataclass(frozen=True)
class SessionView:
    """A session as GET /v1/sessions/{id} shows it: its turns, a page of its jobs, usage."""

    session: Session
    turns: list[Turn]
    jobs: list[Job]
    more_jobs: bool
    usage: SessionUsage
    #: the usage's tokens priced by SPARK_PRICES
    cost: float
    #: models among the usage the price table does not name
    unpriced: tuple[str, ...]


def open_session(
    db: Database,
    events: EventSink,
    owner: str,
    limits: TierLimits,
    title: str | None = None,
    project_id: uuid.UUID | None = None,
) -> Session:
    """Open a session for owner; 429 once their open sessions fill the tier, 404 for a
    project_id that is not theirs."""
    now = utcnow()
    session = Session(new_session_id(), owner, SessionState.OPEN, now, now, title, project_id)
    started = session_event(session, EventType.STARTED, _described(session))
    with db.transaction() as tx:
        if project_id is not None and project_queries.get_project(tx, project_id, owner) is None:
            raise NotFound("project_id: no such project", details={"field": "project_id"})
        quotas.hold_session_slot(tx, owner, limits)
        session_queries.insert_session(tx, session)
        event_queries.outbox_add(tx, [started])
    events.committed([started])
    metrics.session_connected()
    return session


def end_session(db: Database, events: EventSink, owner: str, session_id: str) -> Session:
    """End owner's open session; 404 when it is not theirs, 409 session_ended when it has
    already ended."""
    with db.transaction() as tx:
        ended = session_queries.end_session(tx, session_id, owner, utcnow())
        if ended is None:
            if session_queries.get_session(tx, session_id, owner) is None:
                raise NotFound("no such session")
            raise SessionEnded("the session has already ended")
        event = session_event(ended, EventType.ENDED, _described(ended))
        event_queries.outbox_add(tx, [event])
    events.committed([event])
    return ended


def end_idle(db: Database, events: EventSink, idle_s: float) -> int:
    """End every open session with no new job for idle_s (ended_reason idle); how many."""
    total = 0
    while True:
        now = utcnow()
        with db.transaction() as tx:
            ended = session_queries.end_idle(tx, now - timedelta(seconds=idle_s), now, IDLE_BATCH)
            staged = [session_event(s, EventType.ENDED, _described(s)) for s in ended]
            if staged:
                event_queries.outbox_add(tx, staged)
        events.committed(staged)
        total += len(ended)
        if len(ended) < IDLE_BATCH:
            break
    if total:
        log.info("ended %d idle sessions", total)
    metrics.set_sessions_active(session_queries.count_all_open(db))
    return total


def announce_message(
    db: Database,
    events: EventSink,
    session: Session,
    job: Job,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Announce a turn of session (`spark.session.message.{session}`, naming the turn's job),
    staged in the outbox so it is stored once whatever happens to this process."""
    event = session_event(session, EventType.MESSAGE, data, job)
    with db.transaction() as tx:
        event_queries.outbox_add(tx, [event])
    events.committed([event])


def _described(session: Session) -> dict[str, Any]:
    data: dict[str, Any] = {"state": session.state.value}
    if session.title is not None:
        data["title"] = session.title
    if session.project_id is not None:
        data["project_id"] = str(session.project_id)
    if session.ended_reason is not None:
        data["reason"] = session.ended_reason.value
    return data


def find(db: Database, session_id: str, owner: str) -> Session | None:
    """owner's session, from the replica when it has it, else from the primary."""
    with db.read() as tx:
        found = session_queries.get_session(tx, session_id, owner)
    if found is None and db.replica_url is not None:
        # The replica may lag a fresh session: fall back to the primary.
        found = session_queries.get_session(db, session_id, owner)
    return found


def owned(db: Database, session_id: str, owner: str) -> Session:
    """owner's session; NotFound when owner has none with this id."""
    found = find(db, session_id, owner)
    if found is None:
        raise NotFound("no such session")
    return found


def page(
    db: Database,
    owner: str,
    state: SessionState | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> tuple[list[Session], bool]:
    """Up to limit of owner's sessions, newest first, after (created_at, id); whether more
    follow."""
    with db.read() as tx:
        return session_queries.list_sessions(tx, owner, state, limit, after)


def view(
    db: Database,
    prices: Mapping[str, ModelPrice],
    session_id: str,
    owner: str,
    page_at: tuple[int, job_queries.Cursor | None],
) -> SessionView:
    """owner's session with its turns, a page of its jobs (newest first: page_at is the
    page's size and where it starts), and its usage priced by prices."""
    limit, after = page_at
    session = owned(db, session_id, owner)
    filters = job_queries.JobFilters(session_id=session_id)
    with db.read() as tx:
        turns = session_queries.turns(tx, session_id, owner, MAX_TURNS)
        jobs = job_queries.list_jobs(tx, owner, filters, limit + 1, after)
        usage = session_queries.session_usage(tx, session_id, owner)
    cost = sum(cost_of(prices, model, t_in, t_out) for model, t_in, t_out in usage.by_model)
    spent = [(m, i + o) for m, i, o in usage.by_model]
    unpriced = tuple(sorted({m or "" for m, n in spent if n and not priced(prices, m)}))
    return SessionView(
        session, turns, jobs[:limit], len(jobs) > limit, usage, round(cost, 6), unpriced
    )


async def admit_job(adb: AsyncDatabase, owner: str, session_id: str) -> None:
    """Check the session a submitted job names, and count it as active now.

    A label shaped like a session id that names another user's session is 404, an ended
    session of the owner's 409 session_ended; any other label stays a free label.
    """
    if not may_be_session(session_id):
        return
    found = await session_queries.touch_for_job(adb, session_id, owner, utcnow())
    _check_admitted(found, owner)


def admit_job_now(db: Database, owner: str, session_id: str) -> None:
    """admit_job for callers without an event loop (jobs a worker submits)."""
    if not may_be_session(session_id):
        return
    found = session_queries.touch_for_job_sync(db, session_id, owner, utcnow())
    _check_admitted(found, owner)


def _check_admitted(found: tuple[str, SessionState] | None, owner: str) -> None:
    if found is None:
        return
    session_owner, state = found
    if session_owner != owner:
        raise NotFound("session_id: no such session", details={"field": "session_id"})
    if state is SessionState.ENDED:
        raise SessionEnded("session_id: the session has ended", details={"field": "session_id"})
