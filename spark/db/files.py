"""Named statements for project files: blobs stored once per SHA-256, append-only versions,
and each path's head, which writers compare and set."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from spark.db.models import FileBlobRow, FileVersionRow, ProjectFileRow
from spark.domain.files import Author, FileHead, FileVersion


def _to_version(row: FileVersionRow) -> FileVersion:
    return FileVersion(
        project_id=row.project_id,
        path=row.path,
        version=row.version,
        sha256=row.sha256,
        size=row.size,
        author=Author(row.author, row.author_subject, row.job_id),
        message=row.message,
        created_at=row.created_at,
    )


def _to_head(row: ProjectFileRow) -> FileHead:
    return FileHead(row.path, row.version, row.sha256, row.size, row.updated_at)


def put_blob(s: Session, sha256: str, content: bytes, now: datetime) -> None:
    """Store content under its SHA-256 unless it is there already."""
    if s.scalar(select(exists().where(FileBlobRow.sha256 == sha256))):
        return
    try:
        with s.begin_nested():
            s.execute(
                insert(FileBlobRow).values(
                    sha256=sha256, size=len(content), content=content, created_at=now
                )
            )
    except IntegrityError:
        pass  # another writer stored the same bytes first: they are the same bytes


def blob(s: Session, sha256: str) -> bytes | None:
    """The bytes stored under sha256."""
    return s.scalar(select(FileBlobRow.content).where(FileBlobRow.sha256 == sha256))


def head(s: Session, project_id: uuid.UUID, path: str) -> FileHead | None:
    """The path's newest version, if it has one."""
    found = heads_of(s, project_id, [path])
    return found[0] if found else None


def append_version(s: Session, v: FileVersion) -> bool:
    """Add v as the path's next version and move its head; False (nothing written) when
    version v.version exists already: another writer got there first."""
    try:
        with s.begin_nested():
            s.execute(
                insert(FileVersionRow).values(
                    project_id=v.project_id,
                    path=v.path,
                    version=v.version,
                    sha256=v.sha256,
                    size=v.size,
                    author=v.author.user,
                    author_subject=v.author.subject,
                    job_id=v.author.job_id,
                    message=v.message[:500],
                    created_at=v.created_at,
                )
            )
    except IntegrityError:
        return False
    values = {"version": v.version, "sha256": v.sha256, "size": v.size, "updated_at": v.created_at}
    if v.version == 1:
        s.execute(insert(ProjectFileRow).values(project_id=v.project_id, path=v.path, **values))
    else:
        # The version row above is the lock: only its writer moves the head past v.version-1.
        s.execute(
            update(ProjectFileRow)
            .where(ProjectFileRow.project_id == v.project_id, ProjectFileRow.path == v.path)
            .values(**values)
        )
    return True


def get_version(
    s: Session, project_id: uuid.UUID, path: str, version: int | None = None
) -> FileVersion | None:
    """Version `version` of the path, or its newest."""
    query = select(FileVersionRow).where(
        FileVersionRow.project_id == project_id, FileVersionRow.path == path
    )
    if version is None:
        query = query.order_by(FileVersionRow.version.desc()).limit(1)
    else:
        query = query.where(FileVersionRow.version == version)
    row = s.scalars(query).first()
    return _to_version(row) if row else None


def history(
    s: Session, project_id: uuid.UUID, path: str, limit: int, before: int | None = None
) -> list[FileVersion]:
    """The path's versions, newest first, below version `before` when given."""
    query = select(FileVersionRow).where(
        FileVersionRow.project_id == project_id, FileVersionRow.path == path
    )
    if before is not None:
        query = query.where(FileVersionRow.version < before)
    query = query.order_by(FileVersionRow.version.desc()).limit(limit)
    return [_to_version(row) for row in s.scalars(query)]


def list_heads(
    s: Session, project_id: uuid.UUID, prefix: str, after: str | None, limit: int
) -> list[FileHead]:
    """The project's files in path order, those starting with prefix, after path `after`."""
    query = select(ProjectFileRow).where(ProjectFileRow.project_id == project_id)
    if prefix:
        # Compared as a range rather than LIKE: a prefix may hold % or _.
        query = query.where(ProjectFileRow.path >= prefix, ProjectFileRow.path < prefix + "\uffff")
    if after is not None:
        query = query.where(ProjectFileRow.path > after)
    query = query.order_by(ProjectFileRow.path).limit(limit)
    return [_to_head(row) for row in s.scalars(query)]


def heads_of(s: Session, project_id: uuid.UUID, paths: Sequence[str]) -> list[FileHead]:
    """The heads of those of paths the project has."""
    query = select(ProjectFileRow).where(
        ProjectFileRow.project_id == project_id, ProjectFileRow.path.in_(paths)
    )
    return [_to_head(row) for row in s.scalars(query)]


def all_versions(s: Session, project_id: uuid.UUID) -> Iterator[tuple[FileVersion, bytes]]:
    """Every version of every path of the project with its bytes, by path then version,
    fetched in batches (an export streams this)."""
    query = (
        select(FileVersionRow, FileBlobRow.content)
        .join(FileBlobRow, FileBlobRow.sha256 == FileVersionRow.sha256)
        .where(FileVersionRow.project_id == project_id)
        .order_by(FileVersionRow.path, FileVersionRow.version)
        .execution_options(yield_per=200)
    )
    for row, content in s.execute(query):
        yield _to_version(row), content


def head_files(
    s: Session, project_id: uuid.UUID, paths: Sequence[str] | None = None
) -> Iterator[tuple[FileVersion, bytes]]:
    """The newest version of each of paths (every path when None) with its bytes, in path
    order, fetched in batches (a build lays them all over its workspace)."""
    query = (
        select(FileVersionRow, FileBlobRow.content)
        .join(
            ProjectFileRow,
            (ProjectFileRow.project_id == FileVersionRow.project_id)
            & (ProjectFileRow.path == FileVersionRow.path)
            & (ProjectFileRow.version == FileVersionRow.version),
        )
        .join(FileBlobRow, FileBlobRow.sha256 == FileVersionRow.sha256)
        .where(FileVersionRow.project_id == project_id)
        .order_by(FileVersionRow.path)
        .execution_options(yield_per=200)
    )
    if paths is not None:
        query = query.where(FileVersionRow.path.in_(paths))
    for row, content in s.execute(query):
        yield _to_version(row), content
