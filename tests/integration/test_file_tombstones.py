"""Tombstones in the file store: the version row says a path was deleted; listings and reads
of current files hide it, history and the build's view keep it, and deletes race writes
under the same compare-and-set rules."""

from __future__ import annotations

import uuid

import pytest

from spark.db import files as file_queries
from spark.db.executor import Database
from spark.domain.files import EMPTY_SHA256, Author, StoredFile
from spark.errors import NotFound, VersionConflict
from spark.projects import files
from tests.integration.test_file_store import new_project, run_at_once

ALICE = Author("alice", "key-1")
COIN, GEM, RUBY = "Assets/A/Coin.cs", "Assets/A/Gem.cs", "Assets/B/Ruby.cs"


def three_files(db: Database) -> uuid.UUID:
    project = new_project(db)
    for path in (COIN, GEM, RUBY):
        files.write(db, project, path, f"// {path}\n".encode(), ALICE, "first")
    return project


def test_a_tombstone_row_is_flagged_deleted_with_the_empty_blob(db: Database) -> None:
    project = three_files(db)
    written = files.delete(db, project, GEM, ALICE, "gone")
    assert written.before is not None and written.before.version.version == 1
    tomb = file_queries.get_version(db, project, GEM)
    assert tomb is not None and tomb.deleted and tomb.version == 2
    assert (tomb.sha256, tomb.size, tomb.message) == (EMPTY_SHA256, 0, "gone")
    assert file_queries.blob(db, EMPTY_SHA256) == b""
    assert [v.deleted for v in file_queries.history(db, project, GEM, 10)] == [True, False]


def test_listing_hides_tombstoned_heads_with_a_prefix_and_across_pages(db: Database) -> None:
    project = three_files(db)
    files.delete(db, project, GEM, ALICE, "gone")
    assert [h.path for h in file_queries.list_heads(db, project, "", None, 10)] == [COIN, RUBY]
    assert [h.path for h in file_queries.list_heads(db, project, "Assets/A/", None, 10)] == [COIN]
    # A page of one after Coin skips the tombstone rather than coming back short.
    assert [h.path for h in file_queries.list_heads(db, project, "", COIN, 1)] == [RUBY]
    assert [h.path for h in files.heads(db, project)] == [COIN, RUBY]
    flagged = file_queries.heads_of(db, project, [COIN, GEM])
    assert {h.path: h.deleted for h in flagged} == {COIN: False, GEM: True}


def test_current_files_and_matching_skip_a_tombstone_but_the_builds_view_keeps_it(
    db: Database,
) -> None:
    project = three_files(db)
    files.delete(db, project, GEM, ALICE, "gone")
    assert files.read(db, project, GEM) is None
    assert files.read(db, project, GEM, 1) is not None
    assert [f.version.path for f in files.current_files(db, project)] == [COIN, RUBY]
    assert [f.version.path for f in files.current_files(db, project, [GEM, COIN])] == [COIN]
    assert files.matching(db, project, GEM) == []
    assert [h.path for h in files.matching(db, project, "Assets/A/*.cs")] == [COIN]
    built = [(f.version.path, f.version.deleted) for f in files.each_current_file(db, project)]
    assert built == [(COIN, False), (GEM, True), (RUBY, False)]


def test_deleting_nothing_is_not_found_and_a_stale_base_is_a_conflict(db: Database) -> None:
    project = three_files(db)
    with pytest.raises(NotFound):
        files.delete(db, project, "Assets/A/Never.cs", ALICE, "gone")
    files.write(db, project, COIN, b"two", ALICE, "second")
    with pytest.raises(VersionConflict):
        files.delete(db, project, COIN, ALICE, "gone", base_version=1)
    files.delete(db, project, COIN, ALICE, "gone", base_version=2)
    with pytest.raises(NotFound):
        files.delete(db, project, COIN, ALICE, "gone")


def test_a_write_after_a_tombstone_sees_no_file_and_continues_the_numbering(
    db: Database,
) -> None:
    project = three_files(db)
    files.delete(db, project, COIN, ALICE, "gone")
    seen: list[StoredFile | None] = []

    def edit(current: StoredFile | None) -> bytes:
        seen.append(current)
        return b"new coin"

    written = files.update(db, project, COIN, edit, ALICE, "again", base_version=2)
    assert seen == [None] and written.before is None
    assert written.after.version == 3 and not written.after.deleted
    job = Author("alice", None, uuid.uuid4())
    files.delete(db, project, GEM, job, "gone")
    # A job writing empty bytes where its own tombstone stands still writes a file.
    rewritten = files.write_for_job(db, project, GEM, b"", job, "empty gem")
    assert rewritten.after.version == 3 and not rewritten.after.deleted


def test_ten_concurrent_deletes_pinned_to_one_version_let_exactly_one_through(
    db: Database,
) -> None:
    project = three_files(db)

    def remove(i: int) -> None:
        files.delete(db, project, COIN, Author(f"user-{i}"), "gone", base_version=1)

    errors = run_at_once(10, remove)
    assert len(errors) == 9
    assert all(isinstance(e, (VersionConflict, NotFound)) for e in errors), errors
    assert [v.version for v in file_queries.history(db, project, COIN, 20)] == [2, 1]
