"""The audit log's API bodies: GET /v1/audit's query and page (CONTRACT §5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from spark.contracts.queries import BLANK_IS_NONE
from spark.domain.audit import AuditEntry


def _utc(value: datetime) -> datetime:
    # `since=2026-11-01` means midnight UTC, as every stored time is UTC
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class AuditQuery(BaseModel):
    """Query parameters of GET /v1/audit."""

    model_config = ConfigDict(extra="forbid")

    #: no control characters, nor U+FFFD: a query value that was not UTF-8 arrives as that
    user: Annotated[
        str | None,
        BLANK_IS_NONE,
        Field(max_length=128, pattern="^[^\x00-\x1f\x7f\ufffd]+$"),
    ] = None
    #: e.g. key.created, permission.denied
    action: Annotated[str | None, BLANK_IS_NONE, Field(pattern="^[a-z][a-z_.]{0,63}$")] = None
    #: entries at or after this time (ISO 8601; a date or a time without zone is UTC)
    since: Annotated[datetime | None, BLANK_IS_NONE, AfterValidator(_utc)] = None
    limit: int = Field(default=50, ge=1, le=500)
    cursor: Annotated[str | None, BLANK_IS_NONE] = None


class AuditEntryOut(BaseModel):
    """One audit entry: who did or was refused what, and when; details never hold a secret."""

    id: uuid.UUID
    at: datetime
    action: str
    user: str | None
    key_id: str | None
    target: str | None
    details: dict[str, Any] | None

    @classmethod
    def from_entry(cls, entry: AuditEntry) -> AuditEntryOut:
        """The API view of an entry."""
        details = dict(entry.details) if entry.details else None
        return cls(
            id=entry.id,
            at=entry.at,
            action=entry.action,
            user=entry.actor,
            key_id=entry.key_id,
            target=entry.target,
            details=details,
        )


class AuditPage(BaseModel):
    """A page of GET /v1/audit, newest first; pass next_cursor back as `cursor`."""

    items: list[AuditEntryOut]
    next_cursor: str | None
