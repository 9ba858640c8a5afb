"""Planning apply_text_edits calls: every call, applied the way ManageScript applies line and
column edits, leaves exactly the text planned, stays under its size cap and is never a lone
edit it would re-route."""

from __future__ import annotations

import itertools
import random
import re
from typing import Any

import pytest

from spark.engines.unity.script_edits import MAX_EDIT_BYTES, Unplannable, plan

USING = re.compile(
    r"^\s*using\s+(?:static\s+)?(?:[A-Za-z_]\w*\s*=\s*)?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\s*;",
    re.MULTILINE,
)

COMPACT = (
    "using UnityEngine;\n"
    "public class Mover : MonoBehaviour {\n"
    "    public float speed = 1f;\n"
    "    void Update() { transform.Translate(0, 0, speed * Time.deltaTime); }\n"
    "}\n"
)


def index_of(text: str, line1: int, col1: int) -> int:
    """ManageScript's TryIndexFromLineCol over UTF-16 code units, mapped back to a code-point
    index (an independent reading of the C#: CRLF and CR are one newline)."""
    units = text.encode("utf-16-le")
    chars = [units[i : i + 2] for i in range(0, len(units), 2)]
    line, col, i = 1, 1, 0
    while True:
        if line == line1 and col == col1:
            return len(b"".join(chars[:i]).decode("utf-16-le"))
        if i == len(chars):
            raise AssertionError(f"({line1},{col1}) is out of range")
        c = chars[i].decode("utf-16-le", errors="surrogatepass")
        if c == "\r":
            if i + 1 < len(chars) and chars[i + 1] == "\n".encode("utf-16-le"):
                i += 1
            line, col = line + 1, 1
        elif c == "\n":
            line, col = line + 1, 1
        else:
            col += 1
        i += 1


def manage_script_applies(text: str, edits: tuple[dict[str, Any], ...]) -> str:
    """The text ManageScript writes for one call, checking the rules it enforces."""
    assert len(edits) >= 2, "a lone edit may be re-routed into a method replacement"
    assert sum(len(e["newText"].encode()) for e in edits) <= MAX_EDIT_BYTES
    spans = []
    for e in edits:
        start = index_of(text, e["startLine"], e["startCol"])
        end = index_of(text, e["endLine"], e["endCol"])
        spans.append((start, end, e["newText"]))
    spans.sort(key=lambda s: s[0], reverse=True)
    for later, earlier in itertools.pairwise(spans):
        assert earlier[1] <= later[0], "overlapping edits"
    boundary = USING.search(text)
    for start, end, new_text in spans:
        assert boundary is None or start >= boundary.start(), "edit before the first using"
        text = text[:start] + new_text + text[end:]
    return text


def run(old: str, new: str, limit: int = MAX_EDIT_BYTES) -> int:
    current = old
    batches = plan(old, new, limit)
    for batch in batches:
        assert batch.before == current
        current = manage_script_applies(current, batch.edits)
        assert current == batch.after
    assert current == new
    return len(batches)


def test_a_one_character_change_outside_a_method_is_two_edits_applied_literally() -> None:
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
    assert run(COMPACT, new) == 1


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
def test_changes_at_every_place_of_a_compact_script_land_exactly(change: Any) -> None:
    run(COMPACT, change(COMPACT))


def test_random_edits_of_a_script_always_land_exactly() -> None:
    rng = random.Random(7)
    words = ["speed", "{", "}", ";", "\n", "\r\n", "  ", "é", "😀", "x = 1", "\r", "void A()"]
    for _ in range(300):
        text = "using UnityEngine;\n" + "".join(
            rng.choice(words) for _ in range(rng.randint(0, 40))
        )
        new = list(text)
        for _ in range(rng.randint(1, 4)):
            at = rng.randint(len("using UnityEngine;\n"), len(new))
            cut = rng.randint(0, 3)
            new[at : at + cut] = list(rng.choice(words))
        run(text, "".join(new))


def test_an_emoji_on_the_last_line_is_counted_in_utf16_columns() -> None:
    old = "using UnityEngine;\nclass A { }\n// 🎮 done"
    new = "using UnityEngine;\nclass A { }\n// 🎮 done 🚀!"
    [batch] = plan(old, new)
    # "// 🎮 done" is 10 UTF-16 units (the emoji is two): the end of the line is column 11
    assert batch.edits[0]["startCol"] == 11
    run(old, new)
    run(new, old)


def test_a_header_before_using_is_left_out_of_every_edit() -> None:
    header = "// Copyright (c) Example Studio. MIT licence.\n\n"
    old = header + COMPACT
    run(old, header + COMPACT.replace("1f", "3f"))


def test_new_text_over_the_cap_is_spread_over_calls_under_it() -> None:
    body = "".join(f"    public int field{i} = {i}; // {'x' * 30}\n" for i in range(3000))
    big = COMPACT.replace("}\n", body + "}\n", 1)
    assert len(big.encode()) > 2 * MAX_EDIT_BYTES
    assert run(COMPACT, big) >= 3
    assert run(big, COMPACT) == 1


def test_a_single_line_over_the_cap_is_cut_between_calls() -> None:
    line = "// " + "é" * 50_000 + "\n"
    assert run(COMPACT, COMPACT + line, limit=20_000) >= 5


def test_crlf_files_keep_their_line_ends() -> None:
    old = COMPACT.replace("\n", "\r\n")
    run(old, old.replace("1f", "2f").replace("}\r\n", "}\r\n// tail\r\n"))


def test_equal_texts_need_no_call() -> None:
    assert plan(COMPACT, COMPACT) == []


def test_a_limit_too_small_for_any_character_is_refused() -> None:
    with pytest.raises(Unplannable):
        plan("using A;\n", "using A;\n😀", limit=2)
