"""Named queries for the audit log."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from spark.db.models import AuditRow
from spark.domain.audit import AuditEntry


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


def entries(s: Session, actor: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """The newest entries, optionally of one actor."""
    query = select(AuditRow).order_by(AuditRow.at.desc()).limit(limit)
    if actor is not None:
        query = query.where(AuditRow.actor == actor)
    return [
        AuditEntry(r.id, r.at, r.action, r.actor, r.key_id, r.target, r.details)
        for r in s.scalars(query)
    ]
