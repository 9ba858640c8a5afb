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
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from spark.db.engine import Database
from spark.db.models import (
    AuditRow,
    DeadLetterRow,
    JobRow,
    UsageRecordRow,
    WebhookDeliveryRow,
)
from spark.domain.jobs import TERMINAL_STATES

_ENDED = sorted(state.value for state in TERMINAL_STATES)


@contextmanager
def exclusive(db: Database, name: str) -> Iterator[bool]:
    """Whether this process holds the named lock for the block (a session advisory lock,
    released on exit or when the connection drops)."""
    key = zlib.crc32(f"spark:{name}".encode())
    with db.engine.connect() as conn:
        held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


def _delete_batch(
    s: Session, key: InstrumentedAttribute[Any], where: Any, order: Any, limit: int
) -> list[Any]:
    chosen = select(key).where(where).order_by(order).limit(limit).with_for_update(skip_locked=True)
    table = key.class_
    return list(s.scalars(delete(table).where(key.in_(chosen)).returning(key)))


def delete_ended_jobs(s: Session, before: datetime, limit: int) -> list[uuid.UUID]:
    """Up to limit jobs that ended before `before` (their outbox rows go with them); ids."""
    where = JobRow.state.in_(_ENDED) & (JobRow.finished_at < before)
    return _delete_batch(s, JobRow.id, where, JobRow.finished_at, limit)


def delete_deliveries(s: Session, before: datetime, limit: int) -> int:
    """Up to limit webhook delivery attempts made before `before`."""
    where = WebhookDeliveryRow.created_at < before
    return len(_delete_batch(s, WebhookDeliveryRow.id, where, WebhookDeliveryRow.created_at, limit))


def delete_usage_records(s: Session, before: datetime, limit: int) -> int:
    """Up to limit usage records made before `before` (the rollups keep their sums)."""
    where = UsageRecordRow.created_at < before
    return len(_delete_batch(s, UsageRecordRow.job_id, where, UsageRecordRow.created_at, limit))


def delete_audit(s: Session, before: datetime, limit: int) -> int:
    """Up to limit audit entries from before `before`."""
    return len(_delete_batch(s, AuditRow.id, AuditRow.at < before, AuditRow.at, limit))


def delete_dead_letters(s: Session, before: datetime, limit: int) -> int:
    """Up to limit dead letters recorded before `before` (kept as long as events are)."""
    where = DeadLetterRow.created_at < before
    return len(_delete_batch(s, DeadLetterRow.id, where, DeadLetterRow.created_at, limit))
