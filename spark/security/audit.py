"""The audit log: who did or was refused what, and when; written here, and read for admins."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from spark.db import audit as audit_queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.audit import AuditAction, AuditEntry
from spark.domain.principals import Principal
from spark.errors import AppError, Forbidden, QuotaExceeded

log = logging.getLogger(__name__)


def new_entry(
    action: AuditAction,
    actor: str | None,
    *,
    key_id: str | None = None,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """An entry stamped now, for writing in the caller's own transaction."""
    return AuditEntry(uuid.uuid4(), utcnow(), action.value, actor, key_id, target, details)


def audit(
    db: Database,
    action: AuditAction,
    actor: str | None,
    *,
    key_id: str | None = None,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append an entry; a failure to write it is logged, never raised over the real outcome."""
    entry = new_entry(action, actor, key_id=key_id, target=target, details=details)
    try:
        audit_queries.record(db, entry)
    except Exception:
        log.exception("could not write audit entry %s for %s", action.value, actor)


def action_for(error: AppError) -> AuditAction | None:
    """The audit action an error answer stands for, if it is one worth recording."""
    if isinstance(error, Forbidden):
        return AuditAction.PERMISSION_DENIED
    if isinstance(error, QuotaExceeded):
        return AuditAction.QUOTA_EXCEEDED
    return None


def audit_refusal(db: Database, error: AppError, principal: Principal | None, target: str) -> None:
    """Record a 403 or a quota 429 answered to principal for target (method and path)."""
    action = action_for(error)
    if action is None:
        return
    details = {"code": error.code, "message": error.message[:300]}
    actor, key_id = (principal.user, principal.key_id) if principal else (None, None)
    audit(db, action, actor, key_id=key_id, target=target[:255], details=details)


def entries(
    db: Database,
    filters: audit_queries.AuditFilters,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[AuditEntry]:
    """Up to limit entries matching filters, newest first, after (at, id); read from the
    primary, so an admin looking into a refusal sees it at once."""
    return audit_queries.entries(db, filters, limit, after)
