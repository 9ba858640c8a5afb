"""Column types SPARK's tables share: JSON documents and UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: a JSONB document; Python None is SQL NULL, not a JSON null
JsonDoc = JSONB(none_as_null=True)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored and read back in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time in UTC; the app, not the database, stamps rows so both agree."""
    return datetime.now(UTC)
