"""Named queries for API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from spark.db.models import ApiKeyRow
from spark.domain.principals import ApiKeyRecord, Permission, Tier


def _to_record(row: ApiKeyRow) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=row.key_id,
        user=row.user,
        tier=Tier(row.tier),
        permissions=frozenset(Permission(p) for p in row.permissions),
        secret_hash=row.secret_hash,
        revoked=row.revoked_at is not None,
    )


def insert_key(s: Session, record: ApiKeyRecord, now: datetime) -> None:
    """Store a new key."""
    s.execute(
        insert(ApiKeyRow).values(
            key_id=record.key_id,
            user=record.user,
            tier=record.tier.value,
            permissions=sorted(p.value for p in record.permissions),
            secret_hash=record.secret_hash,
            created_at=now,
        )
    )


def get_key(s: Session, key_id: str) -> ApiKeyRecord | None:
    """The key with this id, revoked or not."""
    row = s.get(ApiKeyRow, key_id)
    return _to_record(row) if row else None


def list_keys(s: Session, user: str | None = None) -> list[ApiKeyRecord]:
    """Every key, or one user's keys."""
    query = select(ApiKeyRow).order_by(ApiKeyRow.created_at)
    if user is not None:
        query = query.where(ApiKeyRow.user == user)
    return [_to_record(r) for r in s.scalars(query)]


def revoke_key(s: Session, key_id: str, now: datetime) -> bool:
    """Revoke a key; False if there is no such live key."""
    done = s.execute(
        update(ApiKeyRow)
        .where(ApiKeyRow.key_id == key_id, ApiKeyRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(getattr(done, "rowcount", 0))
