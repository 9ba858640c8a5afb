"""Audit entries: the security-relevant actions SPARK keeps a record of."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class AuditAction(enum.StrEnum):
    """What happened."""

    KEY_CREATED = "key.created"
    KEY_REVOKED = "key.revoked"
    PERMISSION_DENIED = "permission.denied"
    QUOTA_EXCEEDED = "quota.exceeded"
    SECRET_SET = "secret.set"
    SECRET_DELETED = "secret.deleted"


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action; details never hold a secret."""

    id: uuid.UUID
    at: datetime
    action: str
    actor: str | None = None
    key_id: str | None = None
    target: str | None = None
    details: Mapping[str, Any] | None = None
