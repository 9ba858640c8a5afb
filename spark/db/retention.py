"""Named statements of retention: bounded batch deletes of old rows, and a lock so only one
retention run works at a time.

Each batch is its own short transaction that deletes at most `limit` rows, picked with
SKIP LOCKED, so no request waits behind a long delete and two runs never take the same row.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    BindParameter,
    Column,
    String,
    Table,
    any_,
    bindparam,
    delete,
    select,
    text,
)

from spark.db.executor import Database, Executor, compiled
from spark.db.models import (
    AuditRow,
    CallRow,
    DeadLetterRow,
    JobRow,
    UsageRecordRow,
    WebhookDeliveryRow,
)
from spark.domain.jobs import TERMINAL_STATES

_ENDED = sorted(state.value for state in TERMINAL_STATES)
_TRY_LOCK = compiled(text("SELECT pg_try_advisory_lock(:k)"))
_UNLOCK = compiled(text("SELECT pg_advisory_unlock(:k)"))


@contextmanager
def exclusive(db: Database, name: str) -> Iterator[bool]:
    """Whether this process holds the named lock for the block (a session advisory lock,
    released on exit or when the connection drops)."""
    key = zlib.crc32(f"spark:{name}".encode())
    with db.autocommit() as conn:
        held = bool(conn.scalar(_TRY_LOCK, {"k": key}))
        try:
            yield held
        finally:
            if held:
                conn.scalar(_UNLOCK, {"k": key})


def _batch_delete(key: Column[Any], where: Any, order: Any) -> Any:
    """Up to :limit rows where `where`, oldest by order first, skipping rows another
    transaction holds; their keys come back."""
    chosen = (
        select(key)
        .where(where)
        .order_by(order)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    return compiled(delete(key.table).where(key.in_(chosen)).returning(key))


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


_JOBS, _DELIVERIES = _table(JobRow), _table(WebhookDeliveryRow)
_USAGE, _AUDIT, _DEAD = _table(UsageRecordRow), _table(AuditRow), _table(DeadLetterRow)
_BEFORE: BindParameter[datetime] = bindparam("before")
_ENDED_JOBS = _batch_delete(
    _JOBS.c.id,
    (_JOBS.c.state == any_(bindparam("ended", _ENDED, type_=ARRAY(String()))))
    & (_JOBS.c.finished_at < _BEFORE),
    _JOBS.c.finished_at,
)
_OLD_DELIVERIES = _batch_delete(
    _DELIVERIES.c.id, _DELIVERIES.c.created_at < _BEFORE, _DELIVERIES.c.created_at
)
_OLD_USAGE = _batch_delete(_USAGE.c.job_id, _USAGE.c.created_at < _BEFORE, _USAGE.c.created_at)
_CALLS = _table(CallRow)
_OLD_CALLS = _batch_delete(_CALLS.c.id, _CALLS.c.ts < _BEFORE, _CALLS.c.ts)
_OLD_AUDIT = _batch_delete(_AUDIT.c.id, _AUDIT.c.at < _BEFORE, _AUDIT.c.at)
_OLD_DEAD = _batch_delete(_DEAD.c.id, _DEAD.c.created_at < _BEFORE, _DEAD.c.created_at)


def _deleted(q: Executor, stmt: Any, before: datetime, limit: int) -> list[Any]:
    return [row[0] for row in q.all(stmt, {"before": before, "limit": limit})]


def delete_ended_jobs(q: Executor, before: datetime, limit: int) -> list[uuid.UUID]:
    """Up to limit jobs that ended before `before` (their outbox rows go with them); ids."""
    return _deleted(q, _ENDED_JOBS, before, limit)


def delete_deliveries(q: Executor, before: datetime, limit: int) -> int:
    """Up to limit webhook delivery attempts made before `before`."""
    return len(_deleted(q, _OLD_DELIVERIES, before, limit))


def delete_usage_records(q: Executor, before: datetime, limit: int) -> int:
    """Up to limit usage records made before `before` (the rollups keep their sums)."""
    return len(_deleted(q, _OLD_USAGE, before, limit))


def delete_calls(q: Executor, before: datetime, limit: int) -> int:
    """Up to limit call records made before `before` (the rollups keep their sums)."""
    return len(_deleted(q, _OLD_CALLS, before, limit))


def delete_audit(q: Executor, before: datetime, limit: int) -> int:
    """Up to limit audit entries from before `before`."""
    return len(_deleted(q, _OLD_AUDIT, before, limit))


def delete_dead_letters(q: Executor, before: datetime, limit: int) -> int:
    """Up to limit dead letters recorded before `before` (kept as long as events are)."""
    return len(_deleted(q, _OLD_DEAD, before, limit))
