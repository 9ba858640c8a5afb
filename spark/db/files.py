"""Named statements for project files: blobs stored once per SHA-256, append-only versions,
and each path's head, which writers compare and set."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ARRAY, String, Table, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert

from spark.db.executor import Executor, Transaction, compiled
from spark.db.models import FileBlobRow, FileVersionRow, ProjectFileRow
from spark.domain.files import Author, FileHead, FileVersion

BLOBS = cast(Table, FileBlobRow.__table__)
VERSIONS = cast(Table, FileVersionRow.__table__)
HEADS = cast(Table, ProjectFileRow.__table__)


def _to_version(row: Any) -> FileVersion:
    return FileVersion(
        project_id=row.project_id,
        path=row.path,
        version=row.version,
        sha256=row.sha256,
        size=row.size,
        author=Author(row.author, row.author_subject, row.job_id),
        message=row.message,
        created_at=row.created_at,
        deleted=row.deleted,
    )


def _to_head(row: Any) -> FileHead:
    return FileHead(row.path, row.version, row.sha256, row.size, row.updated_at, row.deleted)


# A head is a tombstone when the version it points at is: the version row says so, so heads
# are read joined to it rather than keeping a second copy of the flag.
_HEAD_ROWS = select(HEADS, VERSIONS.c.deleted).join(
    VERSIONS,
    (VERSIONS.c.project_id == HEADS.c.project_id)
    & (VERSIONS.c.path == HEADS.c.path)
    & (VERSIONS.c.version == HEADS.c.version),
)


# Another writer may store the same bytes first: they are the same bytes.
_PUT_BLOB = compiled(
    insert(BLOBS)
    .values(
        sha256=bindparam("sha256"),
        size=bindparam("size"),
        content=bindparam("content"),
        created_at=bindparam("now"),
    )
    .on_conflict_do_nothing(index_elements=[BLOBS.c.sha256])
)


def put_blob(q: Executor, sha256: str, content: bytes, now: datetime) -> None:
    """Store content under its SHA-256 unless it is there already."""
    q.run(_PUT_BLOB, {"sha256": sha256, "size": len(content), "content": content, "now": now})


_BLOB = compiled(select(BLOBS.c.content).where(BLOBS.c.sha256 == bindparam("sha256")))


def blob(q: Executor, sha256: str) -> bytes | None:
    """The bytes stored under sha256."""
    content: bytes | None = q.scalar(_BLOB, {"sha256": sha256})
    return content


def head(q: Executor, project_id: uuid.UUID, path: str) -> FileHead | None:
    """The path's newest version, if it has one."""
    found = heads_of(q, project_id, [path])
    return found[0] if found else None


# The version row is the lock: only the writer that inserts version N moves the head past
# N-1; a second writer of N inserts nothing and is told so.
_APPEND = compiled(
    insert(VERSIONS)
    .values({c.name: bindparam(c.name) for c in VERSIONS.c})
    .on_conflict_do_nothing(
        index_elements=[VERSIONS.c.project_id, VERSIONS.c.path, VERSIONS.c.version]
    )
    .returning(VERSIONS.c.version)
)
_HEAD_VALUES: dict[str, Any] = {
    c: bindparam(c) for c in ("version", "sha256", "size", "updated_at")
}
_NEW_HEAD = compiled(
    insert(HEADS).values(project_id=bindparam("project_id"), path=bindparam("path"), **_HEAD_VALUES)
)
_MOVE_HEAD = compiled(
    update(HEADS)
    .where(HEADS.c.project_id == bindparam("project_id"), HEADS.c.path == bindparam("path"))
    .values(**_HEAD_VALUES)
)


def append_version(tx: Transaction, v: FileVersion) -> bool:
    """Add v as the path's next version and move its head; False (nothing written) when
    version v.version exists already: another writer got there first."""
    row = {
        "project_id": v.project_id,
        "path": v.path,
        "version": v.version,
        "sha256": v.sha256,
        "size": v.size,
        "author": v.author.user,
        "author_subject": v.author.subject,
        "job_id": v.author.job_id,
        "message": v.message[:500],
        "created_at": v.created_at,
        "deleted": v.deleted,
    }
    if tx.one(_APPEND, row) is None:
        return False
    head_row = {**row, "updated_at": v.created_at}
    tx.run(_NEW_HEAD if v.version == 1 else _MOVE_HEAD, head_row)
    return True


def get_version(
    q: Executor, project_id: uuid.UUID, path: str, version: int | None = None
) -> FileVersion | None:
    """Version `version` of the path, or its newest."""
    query = select(VERSIONS).where(VERSIONS.c.project_id == project_id, VERSIONS.c.path == path)
    if version is None:
        query = query.order_by(VERSIONS.c.version.desc()).limit(1)
    else:
        query = query.where(VERSIONS.c.version == version)
    row = q.one(query)
    return _to_version(row) if row else None


def history(
    q: Executor, project_id: uuid.UUID, path: str, limit: int, before: int | None = None
) -> list[FileVersion]:
    """The path's versions, newest first, below version `before` when given."""
    query = select(VERSIONS).where(VERSIONS.c.project_id == project_id, VERSIONS.c.path == path)
    if before is not None:
        query = query.where(VERSIONS.c.version < before)
    query = query.order_by(VERSIONS.c.version.desc()).limit(limit)
    return [_to_version(row) for row in q.all(query)]


def list_heads(
    q: Executor, project_id: uuid.UUID, prefix: str, after: str | None, limit: int
) -> list[FileHead]:
    """The project's files in path order, those starting with prefix, after path `after`;
    a path whose newest version is a tombstone is not listed."""
    query = _HEAD_ROWS.where(HEADS.c.project_id == project_id, VERSIONS.c.deleted.is_(False))
    if prefix:
        # Compared as a range rather than LIKE: a prefix may hold % or _.
        query = query.where(HEADS.c.path >= prefix, HEADS.c.path < prefix + "\uffff")
    if after is not None:
        query = query.where(HEADS.c.path > after)
    query = query.order_by(HEADS.c.path).limit(limit)
    return [_to_head(row) for row in q.all(query)]


_HEADS_OF = compiled(
    _HEAD_ROWS.where(
        HEADS.c.project_id == bindparam("project_id"),
        HEADS.c.path == any_(bindparam("paths", type_=ARRAY(String()))),
    )
)


def heads_of(q: Executor, project_id: uuid.UUID, paths: Sequence[str]) -> list[FileHead]:
    """The heads of those of paths the project has, tombstones included (flagged deleted)."""
    rows = q.all(_HEADS_OF, {"project_id": project_id, "paths": list(paths)})
    return [_to_head(row) for row in rows]


_WITH_CONTENT = select(VERSIONS, BLOBS.c.content).join(BLOBS, BLOBS.c.sha256 == VERSIONS.c.sha256)
_ALL_VERSIONS = compiled(
    _WITH_CONTENT.where(VERSIONS.c.project_id == bindparam("project_id")).order_by(
        VERSIONS.c.path, VERSIONS.c.version
    )
)


def all_versions(tx: Transaction, project_id: uuid.UUID) -> Iterator[tuple[FileVersion, bytes]]:
    """Every version of every path of the project with its bytes, by path then version,
    fetched in batches (an export streams this)."""
    for row in tx.stream(_ALL_VERSIONS, {"project_id": project_id}):
        yield _to_version(row), row.content


_AT_HEAD = _WITH_CONTENT.join(
    HEADS,
    (HEADS.c.project_id == VERSIONS.c.project_id)
    & (HEADS.c.path == VERSIONS.c.path)
    & (HEADS.c.version == VERSIONS.c.version),
).where(VERSIONS.c.project_id == bindparam("project_id"))
_HEAD_FILES = compiled(_AT_HEAD.order_by(VERSIONS.c.path))
_HEAD_FILES_OF = compiled(
    _AT_HEAD.where(VERSIONS.c.path == any_(bindparam("paths", type_=ARRAY(String())))).order_by(
        VERSIONS.c.path
    )
)


def head_files(
    tx: Transaction, project_id: uuid.UUID, paths: Sequence[str] | None = None
) -> Iterator[tuple[FileVersion, bytes]]:
    """The newest version of each of paths (every path when None) with its bytes, in path
    order, fetched in batches (a build lays them all over its workspace); tombstones
    included, with the empty blob's bytes."""
    if paths is None:
        rows = tx.stream(_HEAD_FILES, {"project_id": project_id})
    else:
        rows = tx.stream(_HEAD_FILES_OF, {"project_id": project_id, "paths": list(paths)})
    for row in rows:
        yield _to_version(row), row.content
