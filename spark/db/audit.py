"""Named queries for the audit log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from spark.db.models import AuditRow
from spark.domain.audit import AuditEntry


@dataclass(frozen=True)
class AuditFilters:
    """What an audit listing is narrowed to; None means any."""

    actor: str | None = None
    action: str | None = None
    since: datetime | None = None


def record(s: Session, entry: AuditEntry) -> None:
    """Append one entry."""
    s.execute(
        insert(AuditRow).values(
            id=entry.id,
            at=entry.at,
            action=entry.action,
            actor=entry.actor,
            key_id=entry.key_id,
            target=entry.target,
            details=dict(entry.details) if entry.details else None,
        )
    )


def entries(
    s: Session,
    filters: AuditFilters = AuditFilters(),
    limit: int = 100,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[AuditEntry]:
    """The newest entries first, filtered, starting after (at, id)."""
    query = select(AuditRow)
    if filters.actor is not None:
        query = query.where(AuditRow.actor == filters.actor)
    if filters.action is not None:
        query = query.where(AuditRow.action == filters.action)
    if filters.since is not None:
        query = query.where(AuditRow.at >= filters.since)
    if after is not None:
        at, last_id = after
        query = query.where(or_(AuditRow.at < at, and_(AuditRow.at == at, AuditRow.id < last_id)))
    query = query.order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
    return [
        AuditEntry(r.id, r.at, r.action, r.actor, r.key_id, r.target, r.details)
        for r in s.scalars(query)
    ]
