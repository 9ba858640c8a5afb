"""Pushing a job's files into a Unity editor, against an in-process editor that keeps files by
path and answers like unity-mcp: a write lands only over the version named as precondition."""

from __future__ import annotations

from spark.engines.unity.bridge import Diagnostic, Editor, EditorRefused, Pushed
from spark.engines.unity.sync import EditorSync, FileWrite, StaleFile, about, push
from tests.support.fake_editor import FakeEditor, sha

EDITOR = Editor("http://127.0.0.1:8080/mcp")


def write(path: str, content: bytes, previous: bytes | None) -> FileWrite:
    return FileWrite(path, content, sha(content), sha(previous) if previous is not None else None)


def test_each_file_is_written_over_the_version_it_replaced_then_refreshed_once() -> None:
    fake = FakeEditor(files={"Assets/A.cs": b"a1"})
    done = push(
        fake, EDITOR, [write("Assets/A.cs", b"a2", b"a1"), write("Assets/B.cs", b"b", None)]
    )
    assert done == EditorSync(pushed=("Assets/A.cs", "Assets/B.cs"))
    assert fake.files == {"Assets/A.cs": b"a2", "Assets/B.cs": b"b"}
    assert fake.calls == [
        ("write_file", "Assets/A.cs", sha(b"a1")),
        ("write_file", "Assets/B.cs", "None"),
        ("refresh",),
        ("console", "error"),
    ]


def test_a_file_edited_in_the_editor_is_reported_stale_and_left_as_it_is() -> None:
    fake = FakeEditor(files={"Assets/A.cs": b"edited in Unity", "Assets/B.cs": b"b1"})
    writes = [write("Assets/A.cs", b"a2", b"a1"), write("Assets/B.cs", b"b2", b"b1")]
    done = push(fake, EDITOR, writes)
    assert done.stale == (StaleFile("Assets/A.cs", sha(b"a1"), sha(b"edited in Unity")),)
    assert done.pushed == ("Assets/B.cs",)
    assert fake.files["Assets/A.cs"] == b"edited in Unity"
    assert [c[0] for c in fake.calls].count("write_file") == 2  # no second try on A


def test_when_every_file_is_stale_the_editor_is_not_refreshed() -> None:
    fake = FakeEditor(files={"Assets/A.cs": b"theirs"})
    done = push(fake, EDITOR, [write("Assets/A.cs", b"ours", None)])
    assert done.pushed == () and len(done.stale) == 1
    assert fake.calls == [("write_file", "Assets/A.cs", "None")]


def test_a_file_the_editor_already_has_in_the_new_version_counts_as_pushed() -> None:
    """A job run again after its worker died finds its own first push there: not stale."""
    fake = FakeEditor(files={"Assets/A.cs": b"a2"})
    done = push(fake, EDITOR, [write("Assets/A.cs", b"a2", b"a1")])
    assert done.pushed == ("Assets/A.cs",) and done.stale == ()


def test_diagnostics_are_the_console_errors_about_pushed_files_only() -> None:
    mine = Diagnostic("Assets/A.cs", 3, "CS1002: ; expected")
    fake = FakeEditor(
        files={"Assets/Other.cs": b"x"},
        console_entries=[
            mine,
            Diagnostic("Assets/Other.cs", 1, "CS0246: not found"),
            Diagnostic("Assets/A.cs", 9, "CS0168: unused", severity="warning"),
        ],
    )
    done = push(fake, EDITOR, [write("Assets/A.cs", b"a", None)])
    assert done.diagnostics == (mine,)
    assert done.as_result()["diagnostics"] == [
        {"file": "Assets/A.cs", "line": 3, "message": "CS1002: ; expected"}
    ]


def test_a_console_naming_files_by_absolute_or_windows_path_still_matches() -> None:
    entries = [
        Diagnostic("C:\\Games\\Coin\\Assets\\Scripts\\A.cs", 1, "one"),
        Diagnostic("/home/me/Coin/Assets/Scripts/A.cs", 2, "two"),
        Diagnostic("/home/me/Coin/Assets/Scripts/XA.cs", 3, "another file"),
    ]
    assert [d.message for d in about(entries, ["Assets/Scripts/A.cs"])] == ["one", "two"]


def test_an_unreachable_editor_is_reported_not_raised() -> None:
    fake = FakeEditor(down_from="write_file")
    done = push(fake, EDITOR, [write("Assets/A.cs", b"a", None)])
    assert done.pushed == ()
    assert done.error == f"editor_unavailable: {EDITOR.url} did not answer"
    assert done.as_result()["error"].startswith("editor_unavailable: ")


def test_an_editor_lost_while_refreshing_keeps_what_was_pushed() -> None:
    fake = FakeEditor(down_from="refresh")
    done = push(fake, EDITOR, [write("Assets/A.cs", b"a", None)])
    assert done.pushed == ("Assets/A.cs",)
    assert done.error is not None and done.diagnostics == ()


def test_the_result_names_every_stale_file_with_both_hashes() -> None:
    stale = StaleFile("Assets/A.cs", "e" * 64, "c" * 64)
    assert EditorSync(stale=(stale,)).as_result() == {
        "pushed": [],
        "stale": [{"path": "Assets/A.cs", "expected_sha256": "e" * 64, "current_sha256": "c" * 64}],
        "diagnostics": [],
    }


def test_a_file_the_editor_refuses_is_named_and_the_others_still_go_in() -> None:
    class Picky(FakeEditor):
        def write_file(self, path: str, content: bytes, precondition_sha256: str | None) -> Pushed:
            if path.endswith(".mat"):
                raise EditorRefused(EDITOR.url, "write_file", "bad_extension", "no script")
            return super().write_file(path, content, precondition_sha256)

    fake = Picky()
    done = push(
        fake, EDITOR, [write("Assets/Gold.mat", b"m", None), write("Assets/A.cs", b"a", None)]
    )
    assert done.pushed == ("Assets/A.cs",)
    assert done.as_result()["refused"] == [
        {
            "path": "Assets/Gold.mat",
            "error": f"editor_error: write_file on the Unity editor at {EDITOR.url} failed: no script",
        }
    ]
    assert ("refresh",) in fake.calls


def test_an_editor_with_no_instance_connected_is_reported_and_nothing_is_written() -> None:
    fake = FakeEditor(files={"Assets/A.cs": b"a1"}, down_from="attach")
    done = push(fake, EDITOR, [write("Assets/A.cs", b"a2", b"a1")])
    assert done.pushed == () and done.error is not None
    assert done.error.startswith("editor_unavailable:")
    assert fake.files == {"Assets/A.cs": b"a1"} and fake.calls == []
