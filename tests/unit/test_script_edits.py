"""Planning apply_text_edits calls: every call, applied by the stand-in editor's port of
ManageScript (its auto-upgrade, using guard, size cap, UTF-16 columns), leaves exactly the text
planned and the SHA-256 SPARK expects."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pytest

from spark.engines.unity.script_edits import MAX_EDIT_BYTES, Unplannable, plan
from tests.support.manage_script import ManageScript
from tests.support.script_files import read_text, write_text

COMPACT = (
    "using UnityEngine;\n"
    "public class Mover : MonoBehaviour {\n"
    "    public float speed = 1f;\n"
    "    void Update() { transform.Translate(0, 0, speed * Time.deltaTime); }\n"
    "}\n"
)


@pytest.fixture
def script(tmp_path: Path) -> ManageScript:
    return ManageScript(tmp_path, lambda _path: None)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run(editor: ManageScript, old: str, new: str, limit: int = MAX_EDIT_BYTES) -> int:
    """Plan old -> new and apply each call as the editor does; the number of calls."""
    held = editor.project / "Assets" / "Scripts" / "Mover.cs"
    held.parent.mkdir(parents=True, exist_ok=True)
    write_text(held, old)
    batches = plan(old, new, limit)
    for batch in batches:
        assert batch.before == read_text(held)
        params: dict[str, Any] = {
            "action": "apply_text_edits",
            "name": "Mover",
            "path": "Assets/Scripts",
            "edits": list(batch.edits),
            "precondition_sha256": sha(batch.before),
        }
        answer = editor.handle(params)
        assert answer["success"], answer
        assert answer["data"]["sha256"] == sha(batch.after), answer
        assert read_text(held) == batch.after
    assert read_text(held) == new
    return len(batches)


def test_a_one_character_change_outside_a_method_is_two_edits_applied_literally(
    script: ManageScript,
) -> None:
    new = COMPACT.replace("speed = 1f", "speed = 2f")
    [batch] = plan(COMPACT, new)
    assert batch.edits[0] == {
        "startLine": 3,
        "startCol": 26,
        "endLine": 3,
        "endCol": 27,
        "newText": "2",
    }
    assert batch.edits[1]["newText"] == ""
    assert run(script, COMPACT, new) == 1


def test_the_same_change_as_one_edit_is_what_the_editor_silently_drops(
    script: ManageScript, tmp_path: Path
) -> None:
    """Why every call carries two edits: ManageScript re-routes a lone whole-file edit."""
    held = tmp_path / "Assets" / "Scripts" / "Mover.cs"
    held.parent.mkdir(parents=True)
    write_text(held, COMPACT)
    lines = COMPACT.split("\n")
    whole = {"startLine": 1, "startCol": 1, "endLine": len(lines), "endCol": 1}
    answer = script.handle(
        {
            "action": "apply_text_edits",
            "name": "Mover",
            "path": "Assets/Scripts",
            "edits": [{**whole, "newText": COMPACT.replace("speed = 1f", "speed = 2f")}],
            "precondition_sha256": sha(COMPACT),
        }
    )
    assert answer["success"] and read_text(held) == COMPACT


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace("1f;", "1.5f; // tuned"),
        lambda t: t.replace("speed *", "speed * 2f *"),
        lambda t: t.replace("void Update()", "private void Update()"),
        lambda t: t.replace("using UnityEngine;\n", "using UnityEngine;\nusing System;\n"),
        lambda t: t + "// end\n",
        lambda t: t.rstrip("\n"),
        lambda t: t.replace("}\n", "    void Start() { }\n}\n", 1),
        lambda t: "",
    ],
)
def test_changes_at_every_place_of_a_compact_script_land_exactly(
    script: ManageScript, change: Any
) -> None:
    run(script, COMPACT, change(COMPACT))


def test_random_edits_of_a_script_always_land_exactly(script: ManageScript) -> None:
    """Token-level edits, so every version's braces balance (the editor refuses any other)."""
    rng = random.Random(7)
    words = ["speed", "{ }", ";", "\n", "\r\n", "  ", "é", "😀", "x = 1", "\r", "void A() { }"]
    words += ["// {", "'}'", '"{"', "(a[1])"]
    for _ in range(300):
        tokens = [rng.choice(words) for _ in range(rng.randint(0, 40))]
        new = list(tokens)
        for _ in range(rng.randint(1, 4)):
            at, cut = rng.randint(0, len(new)), rng.randint(0, 3)
            new[at : at + cut] = [rng.choice(words) for _ in range(rng.randint(0, 2))]
        using = "using UnityEngine;\n"
        run(script, using + "".join(tokens) + "\n", using + "".join(new) + "\n")


def test_an_emoji_on_the_last_line_is_counted_in_utf16_columns(script: ManageScript) -> None:
    old = "using UnityEngine;\nclass A { }\n// 🎮 done"
    new = "using UnityEngine;\nclass A { }\n// 🎮 done 🚀!"
    [batch] = plan(old, new)
    # "// 🎮 done" is 10 UTF-16 units (the emoji is two): the end of the line is column 11
    assert batch.edits[0]["startCol"] == 11
    run(script, old, new)
    run(script, new, old)


def test_a_header_before_using_is_left_out_of_every_edit(script: ManageScript) -> None:
    header = "// Copyright (c) Example Studio. MIT licence.\n\n"
    old = header + COMPACT
    run(script, old, header + COMPACT.replace("1f", "3f"))


def test_new_text_over_the_cap_is_spread_over_calls_under_it(script: ManageScript) -> None:
    body = "".join(f"    public int field{i} = {i}; // {'x' * 30}\n" for i in range(3000))
    big = COMPACT.replace("}\n", body + "}\n", 1)
    assert len(big.encode()) > 2 * MAX_EDIT_BYTES
    assert run(script, COMPACT, big) >= 3
    assert run(script, big, COMPACT) == 1


def test_methods_over_the_cap_go_in_as_balanced_parts_the_editor_accepts(
    script: ManageScript,
) -> None:
    """Every intermediate version keeps its braces balanced, or the editor refuses the call."""
    methods = "".join(
        f"    void Step{i}()\n    {{\n        speed += {i}f; // {{ not code\n    }}\n"
        for i in range(2500)
    )
    big = COMPACT.replace("    void Update()", methods + "    void Update()")
    assert run(script, COMPACT, big) >= 2
    assert run(script, big, COMPACT.replace("1f", "9f")) == 1


def test_a_single_line_over_the_cap_is_cut_between_calls(script: ManageScript) -> None:
    line = "// " + "é" * 50_000 + "\n"
    assert run(script, COMPACT, COMPACT + line, limit=20_000) >= 5


def test_crlf_files_keep_their_line_ends(script: ManageScript) -> None:
    old = COMPACT.replace("\n", "\r\n")
    run(script, old, old.replace("1f", "2f").replace("}\r\n", "}\r\n// tail\r\n"))


def test_equal_texts_need_no_call() -> None:
    assert plan(COMPACT, COMPACT) == []


def test_a_limit_too_small_for_any_character_is_refused() -> None:
    with pytest.raises(Unplannable):
        plan("using A;\n", "using A;\n😀", limit=2)
