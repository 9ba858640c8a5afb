"""Named queries for the audit log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, bindparam, insert, or_, select

from spark.db.executor import Executor, compiled
from spark.db.models import AuditRow
from spark.domain.audit import AuditEntry


@dataclass(frozen=True)
class AuditFilters:
    """What an audit listing is narrowed to; None means any."""

    actor: str | None = None
    action: str | None = None
    since: datetime | None = None


AUDIT = cast(Table, AuditRow.__table__)
_RECORD = compiled(insert(AUDIT).values({c.name: bindparam(c.name) for c in AUDIT.c}))


def record(q: Executor, entry: AuditEntry) -> None:
    """Append one entry."""
    q.run(
        _RECORD,
        {
            "id": entry.id,
            "at": entry.at,
            "action": entry.action,
            "actor": entry.actor,
            "key_id": entry.key_id,
            "target": entry.target,
            "details": dict(entry.details) if entry.details else None,
        },
    )


def entries(
    q: Executor,
    filters: AuditFilters = AuditFilters(),
    limit: int = 100,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[AuditEntry]:
    """The newest entries first, filtered, starting after (at, id)."""
    c = AUDIT.c
    query = select(AUDIT)
    if filters.actor is not None:
        query = query.where(c.actor == filters.actor)
    if filters.action is not None:
        query = query.where(c.action == filters.action)
    if filters.since is not None:
        query = query.where(c.at >= filters.since)
    if after is not None:
        at, last_id = after
        query = query.where(or_(c.at < at, and_(c.at == at, c.id < last_id)))
    query = query.order_by(c.at.desc(), c.id.desc()).limit(limit)
    return [
        AuditEntry(r.id, r.at, r.action, r.actor, r.key_id, r.target, r.details)
        for r in q.all(query)
    ]
