"""Pushing a deletion into a Unity editor, against an in-process editor that keeps files by
path: the editor's copy goes only when it is the version SPARK deleted."""

from __future__ import annotations

from spark.domain.files import EMPTY_SHA256
from spark.engines.unity.bridge import Editor
from spark.engines.unity.sync import EditorSync, FileWrite, StaleFile, push
from tests.support.fake_editor import FakeEditor, sha

EDITOR = Editor("http://127.0.0.1:8080/mcp")


def deletion(path: str, previous: bytes | None) -> FileWrite:
    before = sha(previous) if previous is not None else None
    return FileWrite(path, b"", EMPTY_SHA256, before, deleted=True)


def test_a_deletion_over_sparks_version_deletes_it_then_refreshes_once() -> None:
    fake = FakeEditor(files={"Assets/A.cs": b"a1", "Assets/B.cs": b"b1"})
    done = push(fake, EDITOR, [deletion("Assets/A.cs", b"a1")])
    assert done == EditorSync(pushed=("Assets/A.cs",))
    assert fake.files == {"Assets/B.cs": b"b1"}
    assert fake.calls == [
        ("delete_file", "Assets/A.cs", sha(b"a1")),
        ("refresh",),
        ("console", "error"),
    ]


def test_a_deletion_over_a_copy_edited_in_the_editor_is_stale_and_keeps_it() -> None:
    fake = FakeEditor(files={"Assets/A.cs": b"edited in Unity"})
    done = push(fake, EDITOR, [deletion("Assets/A.cs", b"a1")])
    assert done.stale == (StaleFile("Assets/A.cs", sha(b"a1"), sha(b"edited in Unity")),)
    assert done.pushed == ()
    assert fake.files == {"Assets/A.cs": b"edited in Unity"}
    assert ("refresh",) not in fake.calls


def test_an_empty_copy_in_the_editor_is_not_taken_for_the_deletion() -> None:
    """A tombstone's SHA-256 is the empty file's; an editor holding an empty file over a
    non-empty version has it edited, not deleted."""
    fake = FakeEditor(files={"Assets/A.cs": b""})
    done = push(fake, EDITOR, [deletion("Assets/A.cs", b"a1")])
    assert done.stale == (StaleFile("Assets/A.cs", sha(b"a1"), EMPTY_SHA256),)
    assert fake.files == {"Assets/A.cs": b""}


def test_a_file_the_editor_does_not_have_counts_as_deleted() -> None:
    fake = FakeEditor()
    done = push(fake, EDITOR, [deletion("Assets/A.cs", b"a1")])
    assert done.pushed == ("Assets/A.cs",) and done.stale == ()


def test_a_deletion_with_no_version_before_it_asks_nothing_of_the_editor() -> None:
    fake = FakeEditor(files={"Assets/A.cs": b"theirs"})
    done = push(fake, EDITOR, [deletion("Assets/A.cs", None)])
    assert done.pushed == ("Assets/A.cs",)
    assert fake.files == {"Assets/A.cs": b"theirs"}
    assert ("delete_file", "Assets/A.cs") not in [c[:2] for c in fake.calls]


def test_writes_and_deletions_go_in_together_under_one_refresh() -> None:
    fake = FakeEditor(files={"Assets/A.cs": b"a1", "Assets/B.cs": b"b1"})
    writes = [
        deletion("Assets/A.cs", b"a1"),
        FileWrite("Assets/B.cs", b"b2", sha(b"b2"), sha(b"b1")),
    ]
    done = push(fake, EDITOR, writes)
    assert done.pushed == ("Assets/A.cs", "Assets/B.cs")
    assert fake.files == {"Assets/B.cs": b"b2"}
    assert [c[0] for c in fake.calls].count("refresh") == 1
