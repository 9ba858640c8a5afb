"""The file store: exact versions and hashes, bytes kept once, and writers that race each
other never losing a write (or winning one they pinned to a stale version)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from spark.db import projects as project_queries
from spark.db.executor import Database
from spark.db.models import FileBlobRow
from spark.db.types import utcnow
from spark.domain.files import Author, StoredFile, sha256_of
from spark.domain.projects import Project
from spark.errors import NotFound, PayloadTooLarge, VersionConflict
from spark.projects import files

PATH = "Assets/Scripts/Coin.cs"
ALICE = Author("alice", "key-1")


def new_project(db: Database, owner: str = "alice") -> uuid.UUID:
    project = Project(uuid.uuid4(), owner, f"game-{uuid.uuid4().hex[:6]}", utcnow(), "/tmp")
    with db.transaction() as tx:
        project_queries.insert_project(tx, project)
    return project.id


def appending(line: str) -> Callable[[StoredFile | None], bytes]:
    return lambda current: (current.content if current else b"") + line.encode() + b"\n"


def run_at_once(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run work(i) for i in range(count) in threads released together; the errors raised."""
    start, errors = threading.Barrier(count), []

    def go(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as exc:  # collected for the test to judge
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_each_write_is_a_numbered_version_with_its_exact_bytes_author_and_hash(
    db: Database,
) -> None:
    project = new_project(db)
    job = uuid.uuid4()
    one = files.write(db, project, PATH, b"class Coin {}\n", ALICE, "first")
    two = files.write(db, project, PATH, b"class Coin { int v; }\n", Author("alice", "k", job), "2")
    assert (one.version, two.version) == (1, 2)
    assert two.sha256 == sha256_of(b"class Coin { int v; }\n") and two.size == 22
    assert two.author == Author("alice", "k", job)
    first = files.read(db, project, PATH, 1)
    assert first is not None and first.content == b"class Coin {}\n" and first.version == one


def test_rollback_writes_the_old_content_as_a_new_version(db: Database) -> None:
    project = new_project(db)
    files.write(db, project, PATH, b"v1", ALICE, "one")
    files.write(db, project, PATH, b"v2", ALICE, "two")
    back = files.rollback(db, project, PATH, 1, ALICE)
    assert back.version == 3 and back.sha256 == sha256_of(b"v1")
    assert back.message == "rollback to version 1"
    with pytest.raises(NotFound):
        files.rollback(db, project, PATH, 9, ALICE)


def test_identical_bytes_are_stored_once_across_paths_and_projects(db: Database) -> None:
    a, b = new_project(db), new_project(db)
    with db.transaction() as tx:
        before = tx.scalar(select(func.count()).select_from(FileBlobRow))
    for project in (a, b):
        files.write(db, project, PATH, b"shared bytes", ALICE, "same")
        files.write(db, project, "Assets/Other.cs", b"shared bytes", ALICE, "same")
    with db.transaction() as tx:
        assert tx.scalar(select(func.count()).select_from(FileBlobRow)) == (before or 0) + 1


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_written(db: Database) -> None:
    project = new_project(db)
    with pytest.raises(PayloadTooLarge):
        files.write(db, project, PATH, b"x" * (files.MAX_FILE_BYTES + 1), ALICE, "big")
    assert files.read(db, project, PATH) is None


def test_twenty_concurrent_appends_without_a_base_version_lose_no_line(db: Database) -> None:
    project = new_project(db)
    files.write(db, project, PATH, b"", ALICE, "empty")
    errors = run_at_once(
        20, lambda i: files.update(db, project, PATH, appending(f"line {i}"), ALICE, f"{i}")
    )
    assert not errors, errors
    final = files.read(db, project, PATH)
    assert final is not None and final.version.version == 21
    assert sorted(final.content.decode().split()) == sorted(
        w for i in range(20) for w in f"line {i}".split()
    )


def test_twenty_concurrent_writes_pinned_to_one_base_version_let_exactly_one_through(
    db: Database,
) -> None:
    project = new_project(db)
    files.write(db, project, PATH, b"base", ALICE, "base")

    def pinned(i: int) -> None:
        files.write(db, project, PATH, f"mine {i}".encode(), ALICE, "pinned", base_version=1)

    errors = run_at_once(20, pinned)
    assert len(errors) == 19 and all(isinstance(e, VersionConflict) for e in errors), errors
    assert all(e.details == {"current_version": 2, "base_version": 1} for e in errors)  # type: ignore[attr-defined]
    final = files.read(db, project, PATH)
    assert final is not None and final.version.version == 2
