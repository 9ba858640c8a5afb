"""A project's files: every version of every path kept, each write compared and set against
the version it read, so concurrent writers never lose each other's work.

Writers (file routes, `apply_patch`, the generators) hand `update` a function from the
current file to the new bytes; when another write lands between the read and the commit,
the function runs again on the newer file, unless the caller pinned `base_version`, in
which case the write fails `version_conflict` instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from spark.contracts.paths import MAX_CODE_BYTES
from spark.db import files as file_queries
from spark.db.engine import Database
from spark.db.types import utcnow
from spark.domain.files import Author, FileVersion, StoredFile, sha256_of
from spark.errors import Conflict, NotFound, PayloadTooLarge, VersionConflict

#: the largest file the store keeps (CONTRACT §5: code and patches ≤ 200 KB)
MAX_FILE_BYTES = MAX_CODE_BYTES

#: how often a write without base_version re-reads and tries again when others keep landing
#: first; each round trip lets one writer through, so this bounds a burst of writers
WRITE_ROUNDS = 64

Editor = Callable[[StoredFile | None], bytes]


@dataclass(frozen=True)
class Written:
    """A write's outcome: the file as it was (None for a new path) and the new version."""

    before: StoredFile | None
    after: FileVersion


def read(
    db: Database, project_id: uuid.UUID, path: str, version: int | None = None
) -> StoredFile | None:
    """Version `version` of the path (its newest when None) with its bytes."""
    with db.session() as s:
        found = file_queries.get_version(s, project_id, path, version)
        if found is None:
            return None
        content = file_queries.blob(s, found.sha256)
    if content is None:  # a blob only goes with its last version; never expected
        raise NotFound(f"the content of {path} version {found.version} is missing")
    return StoredFile(found, content)


def update(
    db: Database,
    project_id: uuid.UUID,
    path: str,
    edit: Editor,
    author: Author,
    message: str,
    *,
    base_version: int | None = None,
) -> Written:
    """Write edit(current file) as the path's next version (see the module's docstring)."""
    for _ in range(WRITE_ROUNDS):
        current = read(db, project_id, path)
        check_base(current, base_version)
        content = edit(current)
        if len(content) > MAX_FILE_BYTES:
            raise PayloadTooLarge(f"{path} would be {len(content)} bytes, over {MAX_FILE_BYTES}")
        after = FileVersion(
            project_id=project_id,
            path=path,
            version=(current.version.version if current else 0) + 1,
            sha256=sha256_of(content),
            size=len(content),
            author=author,
            message=message,
            created_at=utcnow(),
        )
        with db.session() as s:
            file_queries.put_blob(s, after.sha256, content, after.created_at)
            if file_queries.append_version(s, after):
                return Written(current, after)
        if base_version is not None:
            check_base(read(db, project_id, path), base_version)
    raise Conflict(f"{path} is being written too often to get a write in; try again")


def write(
    db: Database,
    project_id: uuid.UUID,
    path: str,
    content: bytes,
    author: Author,
    message: str,
    *,
    base_version: int | None = None,
) -> FileVersion:
    """Write content as the path's next version."""
    return update(
        db, project_id, path, lambda _: content, author, message, base_version=base_version
    ).after


def rollback(
    db: Database, project_id: uuid.UUID, path: str, to_version: int, author: Author
) -> FileVersion:
    """A new version of the path with the content version to_version had."""
    old = read(db, project_id, path, to_version)
    if old is None:
        raise NotFound(f"{path} has no version {to_version}")
    return write(db, project_id, path, old.content, author, f"rollback to version {to_version}")


def check_head(db: Database, project_id: uuid.UUID, path: str, base_version: int) -> None:
    """Raise VersionConflict unless the path's newest version is base_version (0: no file);
    reads the head alone, so a submission can refuse a stale base without loading content."""
    with db.statement() as s:
        found = file_queries.head(s, project_id, path)
    _conflict_unless(found.version if found else 0, base_version)


def check_base(current: StoredFile | None, base_version: int | None) -> None:
    """Raise VersionConflict unless the file is at base_version (None: any version)."""
    if base_version is None:
        return
    _conflict_unless(current.version.version if current else 0, base_version)


def _conflict_unless(now: int, base_version: int) -> None:
    if now != base_version:
        raise VersionConflict(
            f"the file is at version {now}, not {base_version}",
            details={"current_version": now, "base_version": base_version},
        )
