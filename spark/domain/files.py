"""Project files as the domain sees them: versions of a path, who wrote them, and why."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime


def sha256_of(content: bytes) -> str:
    """The hex SHA-256 a file version is known by (and its ETag)."""
    return hashlib.sha256(content).hexdigest()


#: a tombstone's sha256: that of no bytes at all. A deletion has no content, and naming it
#: by the empty blob keeps every version joinable to a stored blob, so exports, imports and
#: the build's overlay read tombstones exactly as they read any other version.
EMPTY_SHA256 = sha256_of(b"")


@dataclass(frozen=True)
class Author:
    """Who wrote a version: the user, the key id or JWT subject acting for them, the job."""

    user: str
    subject: str | None = None
    job_id: uuid.UUID | None = None


@dataclass(frozen=True)
class FileVersion:
    """One version of one project file (CONTRACT §4: path, version, sha256, size, author,
    job_id, message, created_at)."""

    project_id: uuid.UUID
    path: str
    version: int
    sha256: str
    size: int
    author: Author
    message: str
    created_at: datetime
    #: a tombstone: the path was deleted at this version (sha256 EMPTY_SHA256, size 0)
    deleted: bool = False


@dataclass(frozen=True)
class FileHead:
    """A path's newest version, as listings show it."""

    path: str
    version: int
    sha256: str
    size: int
    updated_at: datetime
    #: the newest version is a tombstone (listings never show such a head)
    deleted: bool = False


@dataclass(frozen=True)
class StoredFile:
    """A version with its bytes."""

    version: FileVersion
    content: bytes
