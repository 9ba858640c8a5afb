"""Named queries for sessions: rows in and out as domain Sessions, the open ones counted for
the quota, ended by their user or by the idle sweep, and what their jobs used."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, func, or_, select, text, update

from spark.db.aio import AsyncDatabase
from spark.db.executor import Executor, compiled
from spark.db.models import JobRow, SessionRow, UsageRecordRow
from spark.domain.sessions import EndReason, Session, SessionState, SessionUsage, Turn

SESSIONS = cast(Table, SessionRow.__table__)
_JOBS = cast(Table, JobRow.__table__)
_USAGE = cast(Table, UsageRecordRow.__table__)
_OPEN = SessionState.OPEN.value
#: the kind of a session's turns (its messages); named as stored, since the data layer
#: answers for whichever kinds this server runs
ASSIST_KIND = "assist"


def to_session(row: Any) -> Session:
    """A stored row as a domain Session."""
    return Session(
        id=row.id,
        owner=row.owner,
        state=SessionState(row.state),
        created_at=row.created_at,
        last_active_at=row.last_active_at,
        title=row.title,
        project_id=row.project_id,
        ended_at=row.ended_at,
        ended_reason=None if row.ended_reason is None else EndReason(row.ended_reason),
    )


_INSERT = compiled(SESSIONS.insert())


def insert_session(q: Executor, session: Session) -> None:
    """Store a new session."""
    q.run(
        _INSERT,
        {
            "id": session.id,
            "owner": session.owner,
            "title": session.title,
            "project_id": session.project_id,
            "state": session.state.value,
            "created_at": session.created_at,
            "last_active_at": session.last_active_at,
            "ended_at": None,
            "ended_reason": None,
        },
    )


_BY_ID = compiled(
    select(SESSIONS).where(SESSIONS.c.id == bindparam("id"), SESSIONS.c.owner == bindparam("owner"))
)


def get_session(q: Executor, session_id: str, owner: str) -> Session | None:
    """The owner's session, or None (another user's session is as unknown as none)."""
    row = q.one(_BY_ID, {"id": session_id, "owner": owner})
    return None if row is None else to_session(row)


_COUNT_OPEN = compiled(
    select(func.count()).where(SESSIONS.c.owner == bindparam("owner"), SESSIONS.c.state == _OPEN)
)


def count_open(q: Executor, owner: str) -> int:
    """How many of the owner's sessions are open."""
    return int(q.scalar(_COUNT_OPEN, {"owner": owner}))


def list_sessions(
    q: Executor,
    owner: str,
    state: SessionState | None,
    limit: int,
    after: tuple[datetime, str] | None = None,
) -> tuple[list[Session], bool]:
    """A page of the owner's sessions, newest first, after (created_at, id); and whether more
    follow."""
    c = SESSIONS.c
    query = select(SESSIONS).where(c.owner == owner)
    if state is not None:
        query = query.where(c.state == state.value)
    if after is not None:
        created_at, last_id = after
        query = query.where(
            or_(c.created_at < created_at, and_(c.created_at == created_at, c.id < last_id))
        )
    rows = q.all(query.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1))
    return [to_session(r) for r in rows[:limit]], len(rows) > limit


_END = compiled(
    update(SESSIONS)
    .where(
        SESSIONS.c.id == bindparam("id"),
        SESSIONS.c.owner == bindparam("owner"),
        SESSIONS.c.state == _OPEN,
    )
    .values(state=SessionState.ENDED.value, ended_at=bindparam("now"), ended_reason="user")
    .returning(*SESSIONS.c)
)


def end_session(q: Executor, session_id: str, owner: str, now: datetime) -> Session | None:
    """End the owner's open session at the user's word; None unless it was open."""
    row = q.one(_END, {"id": session_id, "owner": owner, "now": now})
    return None if row is None else to_session(row)


# Idle sessions ended a batch at a time; SKIP LOCKED lets two sweeps share the work, and a
# session touched since it was picked no longer matches the UPDATE's own condition.
_END_IDLE = compiled(
    text(
        """
WITH idle AS (
  SELECT id FROM spark_sessions
  WHERE state = 'open' AND last_active_at < :before
  ORDER BY last_active_at LIMIT :limit FOR UPDATE SKIP LOCKED
)
UPDATE spark_sessions s SET state = 'ended', ended_at = :now, ended_reason = 'idle'
FROM idle WHERE s.id = idle.id AND s.state = 'open' AND s.last_active_at < :before
RETURNING s.*
"""
    )
)


def end_idle(q: Executor, before: datetime, now: datetime, limit: int) -> list[Session]:
    """End up to limit open sessions last active before `before`; the sessions ended."""
    rows = q.all(_END_IDLE, {"before": before, "now": now, "limit": limit})
    return [to_session(r) for r in rows]


# A job naming a session: the session's owner and state in one round trip, and its
# last_active_at bumped when it is the submitter's and open.
_TOUCH_FOR_JOB = compiled(
    text(
        """
WITH found AS (SELECT owner, state FROM spark_sessions WHERE id = :id),
touched AS (
  UPDATE spark_sessions SET last_active_at = greatest(last_active_at, :now)
  WHERE id = :id AND owner = :owner AND state = 'open'
  RETURNING id
)
SELECT found.owner, found.state, (SELECT count(*) FROM touched) AS touched FROM found
"""
    )
)


async def touch_for_job(
    adb: AsyncDatabase, session_id: str, owner: str, now: datetime
) -> tuple[str, SessionState] | None:
    """The (owner, state) of the session a job names, or None if there is none; the session
    counts as active now when it is owner's and open."""
    row = await adb.one(_TOUCH_FOR_JOB, {"id": session_id, "owner": owner, "now": now})
    return None if row is None else (row.owner, SessionState(row.state))


def touch_for_job_sync(
    q: Executor, session_id: str, owner: str, now: datetime
) -> tuple[str, SessionState] | None:
    """touch_for_job for callers without an event loop (jobs a worker submits)."""
    row = q.one(_TOUCH_FOR_JOB, {"id": session_id, "owner": owner, "now": now})
    return None if row is None else (row.owner, SessionState(row.state))


_USAGE_BY_MODEL = compiled(
    select(_USAGE.c.model, func.sum(_USAGE.c.tokens_in), func.sum(_USAGE.c.tokens_out))
    .select_from(_USAGE.join(_JOBS, _JOBS.c.id == _USAGE.c.job_id))
    .where(_JOBS.c.owner == bindparam("owner"), _JOBS.c.session_id == bindparam("id"))
    .group_by(_USAGE.c.model)
    .order_by(_USAGE.c.model)
)
_JOB_COUNT = compiled(
    select(func.count()).where(
        _JOBS.c.owner == bindparam("owner"), _JOBS.c.session_id == bindparam("id")
    )
)


def session_usage(q: Executor, session_id: str, owner: str) -> SessionUsage:
    """What the owner's jobs in the session used: how many, and tokens per model."""
    params = {"id": session_id, "owner": owner}
    rows = q.all(_USAGE_BY_MODEL, params)
    by_model = tuple((r[0], int(r[1] or 0), int(r[2] or 0)) for r in rows)
    return SessionUsage(jobs=int(q.scalar(_JOB_COUNT, params)), by_model=by_model)


_TURNS = compiled(
    select(_JOBS.c.id, _JOBS.c.state, _JOBS.c.params, _JOBS.c.result, _JOBS.c.created_at)
    .where(
        _JOBS.c.owner == bindparam("owner"),
        _JOBS.c.session_id == bindparam("id"),
        _JOBS.c.kind == ASSIST_KIND,
    )
    .order_by(_JOBS.c.created_at, _JOBS.c.id)
    .limit(bindparam("limit"))
)


def turns(q: Executor, session_id: str, owner: str, limit: int) -> list[Turn]:
    """Up to limit of the session's turns (its assist jobs), oldest first."""
    rows = q.all(_TURNS, {"id": session_id, "owner": owner, "limit": limit})
    return [_turn(r) for r in rows]


def _turn(row: Any) -> Turn:
    params, result = row.params or {}, row.result or {}
    answer = result.get("text")
    return Turn(
        job_id=row.id,
        state=row.state,
        text=str(params.get("text", "")),
        answer=answer if isinstance(answer, str) else None,
        created_at=row.created_at,
    )


_COUNT_ALL_OPEN = compiled(select(func.count()).where(SESSIONS.c.state == _OPEN))


def count_all_open(q: Executor) -> int:
    """How many sessions are open, whoever's."""
    return int(q.scalar(_COUNT_ALL_OPEN))
