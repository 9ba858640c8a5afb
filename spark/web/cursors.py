"""Opaque page cursors: a small JSON value, base64url without padding.

A cursor is only ever one SPARK handed out; anything else — not base64, not JSON, the wrong
shape, far too long — is a 422 naming `cursor`, never a query that runs on made-up input.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from spark.contracts.files import check_file_path
from spark.domain.sessions import may_be_session
from spark.errors import ValidationFailed

#: a path is at most 512 characters of up to 4 UTF-8 bytes each; base64 makes 4 of 3
_MAX_CURSOR = 3000
#: a (timestamp, id) cursor is about 70 characters; anything much longer is not one of ours
_MAX_STAMP_CURSOR = 128


def _invalid() -> ValidationFailed:
    return ValidationFailed("cursor: not a valid cursor", details={"field": "cursor"})


def _encode(position: Any) -> str:
    raw = json.dumps(position, ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> Any:
    if len(cursor) > _MAX_CURSOR:
        raise _invalid()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise _invalid() from None


def after_path(path: str) -> str:
    """A listing cursor pointing just past path."""
    return _encode({"after": path})


def decode_after_path(cursor: str) -> str:
    """The path a listing cursor points past; 422 unless it is exactly one of ours."""
    match _decode(cursor):
        case {"after": str() as path, **rest} if not rest and len(path) <= 512:
            try:
                return check_file_path(path)
            except ValueError:
                raise _invalid() from None
        case _:
            raise _invalid()


def _is_version(value: int) -> bool:
    # bool is an int to Python, and not a version; version 1 has nothing below it
    return type(value) is int and 2 <= value < 2**31


def before_version(version: int) -> str:
    """A history cursor pointing just below version."""
    return _encode({"before": version})


def decode_before_version(cursor: str) -> int:
    """The version a history cursor points below; 422 unless it is exactly one of ours."""
    match _decode(cursor):
        case {"before": int() as version, **rest} if not rest and _is_version(version):
            return version
        case _:
            raise _invalid()


def after_stamp(at: datetime, row_id: uuid.UUID) -> str:
    """A cursor pointing just past the row (at, row_id) of a newest-first listing."""
    return _encode([at.isoformat(), row_id.hex])


def decode_after_stamp(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (at, id) a newest-first cursor points past; 422 unless it is exactly one of ours."""
    if len(cursor) > _MAX_STAMP_CURSOR:
        raise _invalid()
    match _decode(cursor):
        case [str() as stamp, str() as hex_id]:
            try:
                at, row_id = datetime.fromisoformat(stamp), uuid.UUID(hex=hex_id)
            except ValueError:
                raise _invalid() from None
            if at.tzinfo is None:
                raise _invalid()
            return at, row_id
        case _:
            raise _invalid()


def after_session(at: datetime, session_id: str) -> str:
    """A cursor pointing just past the session (at, session_id) of a newest-first listing."""
    return _encode([at.isoformat(), session_id])


def decode_after_session(cursor: str) -> tuple[datetime, str]:
    """The (at, session id) a session listing's cursor points past; 422 unless it is exactly
    one of ours."""
    if len(cursor) > _MAX_STAMP_CURSOR:
        raise _invalid()
    match _decode(cursor):
        case [str() as stamp, str() as session_id] if may_be_session(session_id):
            try:
                at = datetime.fromisoformat(stamp)
            except ValueError:
                raise _invalid() from None
            if at.tzinfo is None:
                raise _invalid()
            return at, session_id
        case _:
            raise _invalid()
