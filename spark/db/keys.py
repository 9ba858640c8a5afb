"""Named queries for API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update

from spark.db.executor import Executor, compiled
from spark.db.models import ApiKeyRow
from spark.domain.principals import ApiKeyRecord, Permission, Tier

KEYS = cast(Table, ApiKeyRow.__table__)


def _to_record(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=row.key_id,
        user=row.user,
        tier=Tier(row.tier),
        permissions=frozenset(Permission(p) for p in row.permissions),
        secret_hash=row.secret_hash,
        revoked=row.revoked_at is not None,
    )


_INSERT = compiled(
    insert(KEYS).values(
        {c: bindparam(c) for c in ("key_id", "user", "tier", "permissions", "secret_hash")}
        | {"created_at": bindparam("now")}
    )
)


def insert_key(q: Executor, record: ApiKeyRecord, now: datetime) -> None:
    """Store a new key."""
    q.run(
        _INSERT,
        {
            "key_id": record.key_id,
            "user": record.user,
            "tier": record.tier.value,
            "permissions": sorted(p.value for p in record.permissions),
            "secret_hash": record.secret_hash,
            "now": now,
        },
    )


_KEY = compiled(select(KEYS).where(KEYS.c.key_id == bindparam("key_id")))


def get_key(q: Executor, key_id: str) -> ApiKeyRecord | None:
    """The key with this id, revoked or not."""
    row = q.one(_KEY, {"key_id": key_id})
    return _to_record(row) if row else None


def list_keys(q: Executor, user: str | None = None) -> list[ApiKeyRecord]:
    """Every key, or one user's keys."""
    query = select(KEYS).order_by(KEYS.c.created_at)
    if user is not None:
        query = query.where(KEYS.c.user == user)
    return [_to_record(r) for r in q.all(query)]


_REVOKE = compiled(
    update(KEYS)
    .where(KEYS.c.key_id == bindparam("key_id"), KEYS.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"))
)


def revoke_key(q: Executor, key_id: str, now: datetime) -> bool:
    """Revoke a key; False if there is no such live key."""
    return q.run(_REVOKE, {"key_id": key_id, "now": now}) > 0
