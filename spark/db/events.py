"""Named queries for stored events, the event outbox and dead letters."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from psycopg.types.json import Jsonb
from pydantic_core import to_json
from sqlalchemy import (
    ARRAY,
    Table,
    Uuid,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
)

from spark.db.executor import Database, Executor, Transaction, compiled
from spark.db.models import DeadLetterRow, EventOutboxRow, EventRow, JobRow, SessionRow
from spark.db.types import utcnow
from spark.domain.events import Event, EventType, family_in_subject
from spark.domain.jobs import JobKind

EVENTS = cast(Table, EventRow.__table__)
OUTBOX = cast(Table, EventOutboxRow.__table__)
JOBS = cast(Table, JobRow.__table__)
SESSIONS = cast(Table, SessionRow.__table__)

_known_partitions: set[date] = set()
_partition_lock = threading.Lock()


def month_start(ts: datetime) -> date:
    """The first day of ts's month, which names its partition."""
    return date(ts.year, ts.month, 1)


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def ensure_partitions(q: Executor, months: Iterable[date]) -> None:
    """Create the monthly partitions of spark_events for months."""
    for month in sorted(set(months) - _known_partitions):
        name = f"spark_events_{month:%Y_%m}"
        q.run(
            text(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF spark_events "
                f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_next_month(month).isoformat()}')"
            )
        )
        with _partition_lock:
            _known_partitions.add(month)


_PARTITIONS = compiled(
    text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'spark_events'"
    )
)


def drop_partitions_before(q: Executor, before: date) -> list[str]:
    """Drop the monthly partitions of spark_events that end on or before `before`, whole: no
    row-by-row delete, no bloat. Returns the dropped partitions' names."""
    rows = q.all(_PARTITIONS)
    dropped = []
    for name in sorted(row.relname for row in rows):
        year, month = (int(part) for part in name.removeprefix("spark_events_").split("_"))
        if _next_month(date(year, month, 1)) <= before:
            q.run(text(f"DROP TABLE IF EXISTS {name}"))
            dropped.append(name)
            with _partition_lock:
                _known_partitions.discard(date(year, month, 1))
    return dropped


def prepare_partitions(db: Database, months_ahead: int = 2) -> list[date]:
    """Make this month's partition and the next few, so inserts never wait on DDL."""
    month = month_start(utcnow())
    months = [month]
    for _ in range(months_ahead):
        month = _next_month(month)
        months.append(month)
    ensure_partitions(db, months)
    return months


def store_events(db: Database, events: Sequence[Event]) -> int:
    """Insert events once each (a duplicate id is ignored); returns how many were new."""
    if not events:
        return 0
    with db.transaction() as tx:
        return _copy(tx, events)


#: a connection's own staging table for COPY; emptied by every commit
_STAGING = "spark_events_incoming"
_COLUMNS = "(id, ts, type, job_id, job_kind, session_id, subject, data)"
#: the binary COPY's column types, in _COLUMNS order
_TYPES = ["uuid", "timestamptz", "text", "uuid", "text", "text", "text", "jsonb"]
_STAGING_TABLE = compiled(
    text(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (LIKE spark_events) ON COMMIT DELETE ROWS")
)
_COPY = f"COPY {_STAGING} {_COLUMNS} FROM STDIN (FORMAT BINARY)"
# DO NOTHING also drops a second copy of an id within the batch itself
_FROM_STAGING = compiled(
    text(
        f"INSERT INTO spark_events {_COLUMNS} SELECT {_COLUMNS[1:-1]} FROM {_STAGING} "
        "ON CONFLICT (id, ts) DO NOTHING"
    )
)


def _copy(tx: Transaction, events: Sequence[Event]) -> int:
    """COPY into a staging table, then one INSERT ... SELECT that skips stored ids.

    The event consumer's batches: binary COPY rows cost the client a
    fraction of a multi-row INSERT's parameters, which psycopg parses out of the statement
    text each time.
    """
    ensure_partitions(tx, {month_start(e.ts) for e in events})
    # A temporary table lives as long as the pooled connection; IF NOT EXISTS makes it again
    # after a connection was replaced or the transaction that made it rolled back.
    tx.run(_STAGING_TABLE)
    tx.copy_in(_COPY, _TYPES, (_copy_row(e) for e in events))
    return max(tx.run(_FROM_STAGING), 0)


def _copy_row(e: Event) -> tuple[Any, ...]:
    kind = None if e.job_kind is None else e.job_kind.value
    row = (e.id, e.ts, e.type.value, e.job_id, kind, e.session_id, e.subject)
    return (*row, Jsonb(e.data, dumps=to_json))


def events_after(
    q: Executor, job_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Event]:
    """A job's stored events in order, starting after (ts, id)."""
    query = select(EVENTS).where(EVENTS.c.job_id == job_id)
    if after is not None:
        ts, event_id = after
        query = query.where(or_(EVENTS.c.ts > ts, and_(EVENTS.c.ts == ts, EVENTS.c.id > event_id)))
    query = query.order_by(EVENTS.c.ts, EVENTS.c.id).limit(limit)
    return [_event(r) for r in q.all(query)]


@dataclass(frozen=True)
class EventFilter:
    """Which of a user's events a stream carries: all, or one kind, session or project's."""

    kind: str | None = None
    session_id: str | None = None
    project_id: uuid.UUID | None = None


def owner_events_since(
    q: Executor, owner: str, since: datetime, only: EventFilter, limit: int
) -> list[Event]:
    """The owner's stored events from since on, oldest first: their jobs' events, and their
    sessions' events that are about no job (a session's started and ended)."""
    own_session = and_(EVENTS.c.job_id.is_(None), SESSIONS.c.id == EVENTS.c.session_id)
    query = (
        select(EVENTS)
        .outerjoin(JOBS, JOBS.c.id == EVENTS.c.job_id)
        .outerjoin(SESSIONS, own_session)
        .where(or_(JOBS.c.owner == owner, SESSIONS.c.owner == owner), EVENTS.c.ts >= since)
    )
    if only.kind is not None:
        query = query.where(EVENTS.c.job_kind == only.kind)
    if only.session_id is not None:
        query = query.where(EVENTS.c.session_id == only.session_id)
    if only.project_id is not None:
        project = only.project_id
        query = query.where(or_(JOBS.c.project_id == project, SESSIONS.c.project_id == project))
    query = query.order_by(EVENTS.c.ts, EVENTS.c.id).limit(limit)
    return [_event(r) for r in q.all(query)]


def _event(r: Any) -> Event:
    return Event(
        EventType(r.type),
        r.job_id,
        None if r.job_kind is None else JobKind(r.job_kind),
        family_in_subject(r.subject),
        r.session_id,
        r.data,
        r.id,
        r.ts,
    )


_POSITION = compiled(
    select(EVENTS.c.ts, EVENTS.c.id).where(
        EVENTS.c.job_id == bindparam("job_id"), EVENTS.c.id == bindparam("id")
    )
)


def event_position(
    q: Executor, job_id: uuid.UUID, event_id: uuid.UUID
) -> tuple[datetime, uuid.UUID] | None:
    """The (ts, id) of one of the job's stored events, for resuming a stream after it."""
    row = q.one(_POSITION, {"job_id": job_id, "id": event_id})
    return (row.ts, row.id) if row else None


#: Events kept for the relay (NATS is away, or a job's end stages its terminal event). They
#: travel as one JSON array (one C-encoded parameter rather than an array per column, which
#: psycopg dumps in Python), laid out like the rows they become (see outbox_rows).
STAGE_EVENTS = (
    "INSERT INTO event_outbox (id, subject, envelope, created_at)"
    " SELECT e.id, e.subject, e.envelope, :now"
    " FROM jsonb_populate_recordset(NULL::event_outbox, CAST(:events AS jsonb)) AS e"
)
_OUTBOX_ADD = compiled(text(STAGE_EVENTS))


def outbox_rows(events: Sequence[Event]) -> str:
    """events as STAGE_EVENTS takes them: a JSON array of event_outbox rows."""
    # the envelope's values are already in JSON's text form (ids, timestamps)
    envelopes = [(e.subject, e.envelope()) for e in events]
    rows = [{"id": env["id"], "subject": subject, "envelope": env} for subject, env in envelopes]
    return json.dumps(rows, separators=(",", ":"))


def outbox_add(q: Executor, events: Sequence[Event]) -> None:
    """Keep events for the relay (NATS is away)."""
    if events:
        q.run(_OUTBOX_ADD, {"now": utcnow(), "events": outbox_rows(events)})


def outbox_take(
    tx: Transaction, limit: int, created_before: datetime | None = None
) -> list[tuple[uuid.UUID, str, dict[str, Any]]]:
    """The oldest waiting events (only those older than created_before), locked for the
    transaction."""
    query = select(OUTBOX.c.id, OUTBOX.c.subject, OUTBOX.c.envelope)
    if created_before is not None:
        query = query.where(OUTBOX.c.created_at < created_before)
    query = query.order_by(OUTBOX.c.created_at).limit(limit).with_for_update(skip_locked=True)
    return [(r.id, r.subject, r.envelope) for r in tx.all(query)]


_OUTBOX_REMOVE = compiled(
    delete(OUTBOX).where(OUTBOX.c.id == any_(bindparam("ids", type_=ARRAY(Uuid()))))
)


def outbox_remove(q: Executor, ids: Sequence[uuid.UUID]) -> None:
    """Forget events NATS has acknowledged."""
    if ids:
        q.run(_OUTBOX_REMOVE, {"ids": list(ids)})


_LAZY_COMMIT = compiled(text("SET LOCAL synchronous_commit = off"))


def outbox_forget(db: Database, ids: Sequence[uuid.UUID]) -> None:
    """Forget events NATS has acknowledged, in a commit that does not wait for the disk.

    A delete lost to a Postgres crash only leaves a row the relay publishes again with the
    same Nats-Msg-Id: within JetStream's duplicate window (stream.DUPLICATE_WINDOW_S, an hour,
    far above the relay's STAGED_GRACE_S and relay_interval_s) the stream drops it, and after
    it the consumer's ON CONFLICT DO NOTHING does. The same holds today for a delete that
    fails while the database is away, so no guarantee rests on this commit being durable.
    """
    if ids:
        with db.transaction() as tx:
            tx.run(_LAZY_COMMIT)
            tx.run(_OUTBOX_REMOVE, {"ids": list(ids)})


_OUTBOX_DEPTH = compiled(select(func.count()).select_from(OUTBOX))


def outbox_depth(q: Executor) -> int:
    """How many events wait in the outbox."""
    return int(q.scalar(_OUTBOX_DEPTH) or 0)


_DEAD_LETTER = compiled(
    insert(cast(Table, DeadLetterRow.__table__)).values(
        subject=bindparam("subject"),
        payload=bindparam("payload"),
        reason=bindparam("reason"),
        created_at=bindparam("now"),
    )
)


def add_dead_letter(q: Executor, subject: str, payload: str, reason: str) -> None:
    """Keep a message that could be neither delivered nor stored as an event."""
    params = {"subject": subject[:255], "payload": payload, "reason": reason[:2000]}
    q.run(_DEAD_LETTER, {**params, "now": utcnow()})
