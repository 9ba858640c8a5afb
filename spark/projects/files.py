"""A project's files: every version of every path kept, each write compared and set against
the version it read, so concurrent writers never lose each other's work.

Writers (file routes, `apply_patch`, the generators) hand `update` a function from the
current file to the new bytes; when another write lands between the read and the commit,
the function runs again on the newer file, unless the caller pinned `base_version`, in
which case the write fails `version_conflict` instead.

The API's reads (`owned_*`) check the owner in the same transaction as the read, and read
the primary: a client reads a file right after a job or a rollback wrote it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from spark.contracts.paths import MAX_CODE_BYTES
from spark.db import files as file_queries
from spark.db import projects as project_queries
from spark.db.executor import Database, Transaction
from spark.db.types import utcnow
from spark.domain import globs
from spark.domain.files import Author, FileHead, FileVersion, StoredFile, sha256_of
from spark.errors import Conflict, NotFound, PayloadTooLarge, VersionConflict

#: the largest file the store keeps (CONTRACT §5: code and patches ≤ 200 KB)
MAX_FILE_BYTES = MAX_CODE_BYTES

#: how often a write without base_version re-reads and tries again when others keep landing
#: first; each round trip lets one writer through, so this bounds a burst of writers
WRITE_ROUNDS = 64
#: heads listed per query when walking a project's files
_PAGE = 1000
#: paths looked up per query, so one statement's list of bound values stays short
_BATCH = 500

Editor = Callable[[StoredFile | None], bytes]


@dataclass(frozen=True)
class Written:
    """A write's outcome: the file as it was (None for a new path) and the new version."""

    before: StoredFile | None
    after: FileVersion


def read(
    db: Database, project_id: uuid.UUID, path: str, version: int | None = None
) -> StoredFile | None:
    """Version `version` of the path (its newest when None) with its bytes; None when there
    is none or it is a tombstone (the file did not exist then)."""
    return live(_read_any(db, project_id, path, version))


def live(stored: StoredFile | None) -> StoredFile | None:
    """The stored file, unless it is a tombstone: a deleted file reads as no file."""
    return None if stored is None or stored.version.deleted else stored


def _read_any(
    db: Database, project_id: uuid.UUID, path: str, version: int | None = None
) -> StoredFile | None:
    """Version `version` of the path (its newest when None), tombstones included."""
    with db.transaction() as tx:
        found = file_queries.get_version(tx, project_id, path, version)
        if found is None:
            return None
        content = file_queries.blob(tx, found.sha256)
    if content is None:  # a blob only goes with its last version; never expected
        raise NotFound(f"the content of {path} version {found.version} is missing")
    return StoredFile(found, content)


def owned_heads(
    db: Database, project_id: uuid.UUID, owner: str, prefix: str, after: str | None, limit: int
) -> list[FileHead]:
    """Up to limit of owner's project's files in path order, those under prefix after path
    `after`; NotFound when owner has no such project."""
    with db.transaction() as tx:
        _require_owner(tx, project_id, owner)
        return file_queries.list_heads(tx, project_id, prefix, after, limit)


def owned_read(
    db: Database,
    project_id: uuid.UUID,
    owner: str,
    path: str,
    version: int | None,
    have: Callable[[str], bool],
) -> StoredFile | FileVersion:
    """Version `version` of the path (its newest when None) with its bytes, or without them
    when have(its sha256) says the caller holds them already."""
    with db.transaction() as tx:
        _require_owner(tx, project_id, owner)
        found = file_queries.get_version(tx, project_id, path, version)
        if found is None or found.deleted:
            # A tombstone has no content: the file did not exist at that version.
            raise NotFound(
                "no such file" if version is None else f"{path} has no version {version}"
            )
        if have(found.sha256):
            return found
        content = file_queries.blob(tx, found.sha256)
    if content is None:  # a blob goes only with its last version; never expected
        raise NotFound(f"the content of {path} version {found.version} is missing")
    return StoredFile(found, content)


def owned_history(
    db: Database, project_id: uuid.UUID, owner: str, path: str, limit: int, before: int | None
) -> list[FileVersion]:
    """Up to limit of the path's versions, newest first, below version `before` when given."""
    with db.transaction() as tx:
        _require_owner(tx, project_id, owner)
        if file_queries.head(tx, project_id, path) is None:
            raise NotFound("no such file")
        return file_queries.history(tx, project_id, path, limit, before)


def _require_owner(tx: Transaction, project_id: uuid.UUID, owner: str) -> None:
    # Another user's project answers exactly as a missing one does.
    if project_queries.get_project(tx, project_id, owner) is None:
        raise NotFound("no such project")


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

    def attempt(newest: StoredFile | None) -> Written | None:
        current = live(newest)
        content = edit(current)
        if len(content) > MAX_FILE_BYTES:
            raise PayloadTooLarge(f"{path} would be {len(content)} bytes, over {MAX_FILE_BYTES}")
        after = _next_version(project_id, path, newest, content, author, message)
        return Written(current, after) if _append(db, after, content) else None

    return _in_rounds(db, project_id, path, base_version, attempt)


def delete(
    db: Database,
    project_id: uuid.UUID,
    path: str,
    author: Author,
    message: str,
    *,
    base_version: int | None = None,
) -> Written:
    """Write a tombstone as the path's next version; NotFound when the path has no file (no
    versions, or deleted already). Compared and set exactly as writes are."""

    def attempt(newest: StoredFile | None) -> Written | None:
        current = live(newest)
        if current is None:
            raise NotFound("no such file")
        after = replace(_next_version(project_id, path, newest, b"", author, message), deleted=True)
        return Written(current, after) if _append(db, after, b"") else None

    return _in_rounds(db, project_id, path, base_version, attempt)


def _in_rounds(
    db: Database,
    project_id: uuid.UUID,
    path: str,
    base_version: int | None,
    attempt: Callable[[StoredFile | None], Written | None],
) -> Written:
    """Run attempt(newest version, tombstones included) until it lands a version."""
    for _ in range(WRITE_ROUNDS):
        newest = _read_any(db, project_id, path)
        check_base(newest, base_version)
        written = attempt(newest)
        if written is not None:
            return written
        if base_version is not None:
            # Someone else's version landed: pinned, this write yields (the head alone tells).
            check_head(db, project_id, path, base_version)
    raise Conflict(f"{path} is being written too often to get a write in; try again")


def _next_version(
    project_id: uuid.UUID,
    path: str,
    newest: StoredFile | None,
    content: bytes,
    author: Author,
    message: str,
) -> FileVersion:
    """The version after newest (a tombstone's number counts: numbering never restarts)."""
    return FileVersion(
        project_id=project_id,
        path=path,
        version=(newest.version.version if newest else 0) + 1,
        sha256=sha256_of(content),
        size=len(content),
        author=author,
        message=message,
        created_at=utcnow(),
    )


def _append(db: Database, after: FileVersion, content: bytes) -> bool:
    """Store content and append after; False when another writer took its number first."""
    with db.transaction() as tx:
        file_queries.put_blob(tx, after.sha256, content, after.created_at)
        return file_queries.append_version(tx, after)


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
    """A new version of the path with the content version to_version had; rolling back to a
    tombstone deletes the file again (NotFound if it is deleted already)."""
    old = _read_any(db, project_id, path, to_version)
    if old is None:
        raise NotFound(f"{path} has no version {to_version}")
    message = f"rollback to version {to_version}"
    if old.version.deleted:
        return delete(db, project_id, path, author, message).after
    return write(db, project_id, path, old.content, author, message)


def check_head(db: Database, project_id: uuid.UUID, path: str, base_version: int) -> None:
    """Raise VersionConflict unless the path's newest version is base_version (0: no file);
    reads the head alone, so a submission can refuse a stale base without loading content."""
    found = file_queries.head(db, project_id, path)
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


def write_for_job(
    db: Database, project_id: uuid.UUID, path: str, content: bytes, author: Author, message: str
) -> Written:
    """Write content as the path's next version, unless it already is the newest one and this
    job (author.job_id) wrote it: a job run again after its worker died writes nothing twice,
    and gets back the same before and after as the first run did."""
    newest = file_queries.get_version(db, project_id, path)  # its bytes are not needed
    if (
        newest is not None
        and not newest.deleted
        and author.job_id is not None
        and newest.author.job_id == author.job_id
        and newest.sha256 == sha256_of(content)
    ):
        number = newest.version
        return Written(read(db, project_id, path, number - 1) if number > 1 else None, newest)
    return update(db, project_id, path, lambda _: content, author, message)


def heads(db: Database, project_id: uuid.UUID, prefix: str = "") -> list[FileHead]:
    """Every file of the project whose path starts with prefix, in path order."""
    found: list[FileHead] = []
    after: str | None = None
    while True:
        page = file_queries.list_heads(db, project_id, prefix, after, _PAGE)
        found += page
        if len(page) < _PAGE:
            return found
        after = page[-1].path


def matching(db: Database, project_id: uuid.UUID, pattern: str) -> list[FileHead]:
    """The project's files pattern names: one exact path, or a glob (see spark.domain.globs)."""
    if not globs.is_glob(pattern):
        return [h for h in file_queries.heads_of(db, project_id, [pattern]) if not h.deleted]
    listed = heads(db, project_id, globs.literal_prefix(pattern))
    return [head for head in listed if globs.matches(pattern, head.path)]


def current_files(
    db: Database, project_id: uuid.UUID, paths: Sequence[str] | None = None
) -> list[StoredFile]:
    """The newest version of each of paths the project has (of every file when None), with
    its bytes, in path order; deleted files are not among them."""
    if paths is None:
        return [f for f in each_current_file(db, project_id) if not f.version.deleted]
    found: list[StoredFile] = []
    unique = sorted(set(paths))
    for start in range(0, len(unique), _BATCH):
        with db.transaction() as tx:
            batch = file_queries.head_files(tx, project_id, unique[start : start + _BATCH])
            found += [StoredFile(v, content) for v, content in batch if not v.deleted]
    return sorted(found, key=lambda f: f.version.path)


def each_current_file(db: Database, project_id: uuid.UUID) -> Iterator[StoredFile]:
    """Every path of the project at its newest version, in path order, read in one snapshot
    and streamed, so a large project never has to fit in memory at once.

    Tombstones come too (version.deleted, no bytes): a build lays a deletion over as the
    path's removal, so the workspace lacks a file SPARK deleted even where the source has it.
    """
    with db.transaction() as tx:
        for version, content in file_queries.head_files(tx, project_id):
            yield StoredFile(version, content)


def history_of(db: Database, project_id: uuid.UUID) -> Iterator[StoredFile]:
    """Every version of every path of the project with its bytes, by path then version,
    read in batches inside one transaction so an export is one consistent picture."""
    with db.transaction() as tx:
        for version, content in file_queries.all_versions(tx, project_id):
            yield StoredFile(version, content)


def import_history(
    db: Database, project_id: uuid.UUID, history: Sequence[StoredFile]
) -> list[FileHead]:
    """Write history's versions exactly as given (numbers, hashes, authors, times), all or
    nothing; Conflict, with nothing written, when the project has any of its paths already."""
    paths = sorted({stored.version.path for stored in history})
    with db.transaction() as tx:
        taken = [head.path for head in file_queries.heads_of(tx, project_id, paths)]
        if taken:
            raise Conflict(
                f"the project already has {len(taken)} of these files, such as {taken[0]}",
                details={"paths": taken[:20]},
            )
        for stored in history:
            v = stored.version
            file_queries.put_blob(tx, v.sha256, stored.content, v.created_at)
            if not file_queries.append_version(tx, v):
                # A write to the same path landed since the check: the whole import yields.
                raise Conflict(f"{v.path} was written while importing; nothing was imported")
        return [h for h in file_queries.heads_of(tx, project_id, paths) if not h.deleted]
