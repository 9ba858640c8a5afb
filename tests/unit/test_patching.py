"""The patch engine: each patch type edits exactly what it names, keeps every other byte, and
refuses what it cannot apply unambiguously with what it found and where."""

from __future__ import annotations

import pytest

from spark.engines.patching import Patch, PatchRejected, apply, unified_diff

PATH = "Assets/Scripts/Coin.cs"
COIN = (
    b"using UnityEngine;\n"
    b"\n"
    b"public class Coin : MonoBehaviour\n"
    b"{\n"
    b"    public int value = 1;\n"
    b"    // END\n"
    b"}\n"
)


def rejected(patch: Patch, current: bytes | None = COIN) -> PatchRejected:
    with pytest.raises(PatchRejected) as caught:
        apply(patch, current, PATH)
    return caught.value


def test_replace_swaps_the_one_occurrence_of_old() -> None:
    out = apply(Patch("replace", old="value = 1;", new="value = 5;"), COIN, PATH)
    assert out == COIN.replace(b"value = 1;", b"value = 5;")


def test_replace_of_text_that_occurs_twice_fails_with_the_count_and_each_line_column() -> None:
    error = rejected(Patch("replace", old="e", new="E"), b"one\n  two three\n")
    assert error.code == "patch_failed"
    assert error.details["occurrences"] == 3
    assert error.details["positions"] == [
        {"line": 1, "column": 3},
        {"line": 2, "column": 10},
        {"line": 2, "column": 11},
    ]
    assert "old occurs 3 times (at line:column 1:3, 2:10, 2:11)" in error.message


def test_overlapping_occurrences_count_as_ambiguous() -> None:
    error = rejected(Patch("replace", old="aa", new="b"), b"aaa\n")
    assert error.details["occurrences"] == 2


def test_replace_of_absent_text_says_it_does_not_occur_and_where_its_first_line_does() -> None:
    error = rejected(Patch("replace", old="public class Coin\n{\n  public", new="x"))
    assert error.details["occurrences"] == 0 and error.details["positions"] == []
    assert error.message == "old does not occur in the file (its first line does, at 3:1)"


def test_insert_before_and_after_put_new_exactly_at_the_anchors_edges() -> None:
    before = apply(Patch("insert_before", anchor="    // END", new="    int a;\n"), COIN, PATH)
    after = apply(Patch("insert_after", anchor="// END\n", new="    int b;\n"), COIN, PATH)
    assert before == COIN.replace(b"    // END", b"    int a;\n    // END")
    assert after == COIN.replace(b"// END\n", b"// END\n    int b;\n")


@pytest.mark.parametrize("patch_type", ["insert_before", "insert_after"])
def test_an_anchor_that_is_not_unique_fails_like_old_does(patch_type: str) -> None:
    error = rejected(Patch(patch_type, anchor="{", new="x"), b"{\n{\n")  # type: ignore[arg-type]
    assert error.details["field"] == "anchor"
    assert "anchor occurs 2 times (at line:column 1:1, 2:1)" in error.message


def test_full_replaces_the_content_and_is_the_only_type_that_creates_a_file() -> None:
    assert apply(Patch("full", content="class A {}\n"), COIN, PATH) == b"class A {}\n"
    assert apply(Patch("full", content="class B {}"), None, PATH) == b"class B {}"
    for patch in (
        Patch("replace", old="a", new="b"),
        Patch("insert_after", anchor="a", new="b"),
        Patch("unified_diff", diff="@@ -1 +1 @@\n-a\n+b\n"),
    ):
        error = rejected(patch, None)
        assert error.code == "not_found" and "only a 'full' patch creates a file" in error.message


def test_a_unified_diff_applies_its_hunks_at_their_lines() -> None:
    diff = (
        "--- a/Assets/Scripts/Coin.cs\n"
        "+++ b/Assets/Scripts/Coin.cs\n"
        "@@ -1,3 +1,4 @@\n"
        " using UnityEngine;\n"
        "+using System;\n"
        " \n"
        " public class Coin : MonoBehaviour\n"
        "@@ -5,2 +6,2 @@\n"
        "-    public int value = 1;\n"
        "+    public int value = 2;\n"
        "     // END\n"
    )
    out = apply(Patch("unified_diff", diff=diff), COIN, PATH)
    expected = COIN.replace(b"Engine;\n", b"Engine;\nusing System;\n").replace(b"= 1", b"= 2")
    assert out == expected


def test_hunks_without_file_headers_are_taken_as_the_files_own() -> None:
    diff = "@@ -5 +5 @@\n-    public int value = 1;\n+    public int value = 3;\n"
    assert apply(Patch("unified_diff", diff=diff), COIN, PATH) == COIN.replace(b"= 1", b"= 3")


def test_a_hunk_whose_context_does_not_match_fails_naming_the_hunk_and_line() -> None:
    diff = (
        "@@ -1,2 +1,2 @@\n using UnityEngine;\n-\n+// header\n"
        "@@ -5,2 +5,2 @@\n-    public int value = 7;\n+    public int value = 2;\n     // END\n"
    )
    error = rejected(Patch("unified_diff", diff=diff))
    assert error.details["hunk"] == 2 and error.details["line"] == 5
    assert error.details["found"] == "    public int value = 1;"
    assert error.message.startswith(
        "hunk 2 does not apply at line 5: the file has '    public int value = 1;', "
        "the hunk expects '    public int value = 7;'"
    )


def test_a_hunk_whose_lines_moved_is_not_applied_elsewhere_but_says_where_they_are() -> None:
    """No offset, no fuzz: the hunk fails, and its lines' real place is a hint."""
    diff = "@@ -4,2 +4,2 @@\n-    public int value = 1;\n+    public int value = 2;\n     // END\n"
    error = rejected(Patch("unified_diff", diff=diff))
    assert error.details["matches_at"] == [5]
    assert "its lines are at line 5" in error.message


def test_a_hunk_past_the_end_of_the_file_fails() -> None:
    error = rejected(Patch("unified_diff", diff="@@ -9,1 +9,1 @@\n-x\n+y\n"))
    assert "hunk 1 does not apply at line 9: the file ends before it" in error.message


def test_a_hunk_with_fewer_lines_than_its_header_says_is_not_a_valid_diff() -> None:
    error = rejected(Patch("unified_diff", diff="@@ -1,3 +1,3 @@\n using UnityEngine;\n"))
    assert error.message == "the diff is not a valid unified diff: Hunk is shorter than expected"


def test_a_diff_of_two_files_is_refused() -> None:
    one = "--- a/A.cs\n+++ b/A.cs\n@@ -1 +1 @@\n-a\n+b\n"
    error = rejected(Patch("unified_diff", diff=one + one.replace("A.cs", "B.cs")))
    assert error.message == "the diff must change exactly one file; it changes 2"


def test_crlf_files_stay_crlf_whatever_endings_the_patch_text_uses() -> None:
    crlf = COIN.replace(b"\n", b"\r\n")
    replaced = apply(Patch("replace", old="{\n    public", new="{\n    private"), crlf, PATH)
    assert replaced == crlf.replace(b"public int", b"private int")
    inserted = apply(Patch("insert_after", anchor="// END\n", new="    int b;\n"), crlf, PATH)
    assert inserted == crlf.replace(b"// END\r\n", b"// END\r\n    int b;\r\n")
    lf_diff = "@@ -5 +5 @@\n-    public int value = 1;\n+    public int value = 2;\n"
    crlf_diff = lf_diff.replace("\n", "\r\n")
    for diff in (lf_diff, crlf_diff):
        out = apply(Patch("unified_diff", diff=diff), crlf, PATH)
        assert out == crlf.replace(b"= 1", b"= 2")


def test_a_file_without_trailing_newline_keeps_none_unless_the_diff_says_otherwise() -> None:
    bare = COIN.rstrip(b"\n")
    assert apply(Patch("replace", old="= 1", new="= 4"), bare, PATH) == bare.replace(b"= 1", b"= 4")
    middle = "@@ -5 +5 @@\n-    public int value = 1;\n+    public int value = 2;\n"
    assert apply(Patch("unified_diff", diff=middle), bare, PATH) == bare.replace(b"= 1", b"= 2")
    marked = "@@ -7 +7,2 @@\n-}\n\\ No newline at end of file\n+}\n+// more\n"
    assert apply(Patch("unified_diff", diff=marked), bare, PATH) == bare + b"\n// more\n"
    dropped = "@@ -7 +7 @@\n-}\n+} // Coin\n\\ No newline at end of file\n"
    assert apply(Patch("unified_diff", diff=dropped), COIN, PATH) == bare + b" // Coin"


def test_a_byte_order_mark_is_kept_and_not_counted_in_columns() -> None:
    bom = b"\xef\xbb\xbf" + COIN
    error = rejected(Patch("replace", old="using", new="x"), bom + b"using\n")
    assert error.details["positions"][0] == {"line": 1, "column": 1}
    diff = "@@ -1 +1 @@\n-using UnityEngine;\n+using UnityEngine.UI;\n"
    assert apply(Patch("unified_diff", diff=diff), bom, PATH) == bom.replace(
        b"Engine;", b"Engine.UI;"
    )


def test_a_file_that_is_not_utf8_is_refused() -> None:
    error = rejected(Patch("replace", old="a", new="b"), b"a\xff\n")
    assert error.message == "the file is not UTF-8 text (byte 1)"


@pytest.mark.parametrize(
    "after",
    [
        COIN.replace(b"= 1", b"= 2"),
        COIN.rstrip(b"\n"),
        COIN.replace(b"\n", b"\r\n"),
        b"",
        COIN + b"// tail without newline",
    ],
    ids=["one line", "newline dropped", "to crlf", "emptied", "tail added"],
)
def test_the_diff_of_a_change_applies_back_to_give_the_same_bytes(after: bytes) -> None:
    diff = unified_diff(PATH, COIN, after)
    assert diff.startswith(f"--- a/{PATH}\n+++ b/{PATH}\n@@ ")
    assert apply(Patch("unified_diff", diff=diff), COIN, PATH) == after


def test_the_diff_of_a_new_file_starts_from_dev_null() -> None:
    assert unified_diff(PATH, None, b"a\n") == f"--- /dev/null\n+++ b/{PATH}\n@@ -0,0 +1 @@\n+a\n"
