"""apply_text_edits of ManageScript.cs ported for the Unity Editor stand-in, with its rules in
the plugin's order: the sha256 precondition, 1-based line and UTF-16 column positions, the guard
before the first using directive, the 64 KiB payload cap, overlaps, and the final delimiter
balance check (its hint is the whole error).

It keeps ManageScript's auto-upgrade: a single edit whose ±200-character window matches a method
header and that overlaps that method is re-routed into replace_method of that method alone
(script_structured_edits.py), taken from the edited text, so a change outside the method in the
same edit is dropped ("No-op: contents unchanged" with the old sha256 when the method itself did
not change). SPARK's planner must survive this, which is why the stand-in models it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.support.csharp_lexer import from_units, to_units
from tests.support.csharp_spans import class_span, method_span
from tests.support.csharp_validation import check_balanced_delimiters
from tests.support.plugin_protocol import error, success
from tests.support.script_files import (
    ScriptFile,
    read_text,
    sha256_text,
    symlinked_below,
    write_text,
)
from tests.support.script_structured_edits import edit_script, no_op

MAX_EDIT_PAYLOAD_BYTES = 64 * 1024
_USING = re.compile(
    r"(?m)^\s*using\s+(?:static\s+)?(?:[A-Za-z_]\w*\s*=\s*)?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\s*;"
)
_METHOD_HEADER = re.compile(
    r"(?m)^[\t ]*(?:\[[^\]]+\][\t ]*)*[\t ]*(?:public|private|protected|internal|static|virtual|"
    r"override|sealed|async|extern|unsafe|new|partial)[\s\S]*?\b([A-Za-z_][A-Za-z0-9_]*)\s*\("
)

#: USE_ROSLYN's formatting of the edited text
Formatter = Callable[[str], str]
Span = tuple[int, int, str]


def apply_text_edits(
    script: ScriptFile,
    edits: list[Any] | None,
    precondition: str | None,
    refresh: str | None,
    validate: str | None,
    *,
    formatter: Formatter | None,
    assets: str,
) -> dict[str, Any]:
    """ApplyTextEdits: the edits applied from the back and written, or why not."""
    if not script.full.is_file():
        return error(f"Script not found at '{script.rel}'.")
    if symlinked_below(script.full.parent, assets):
        return error("Refusing to edit a symlinked script path.")
    if not edits:
        return error("No edits provided.")
    original = to_units(read_text(script.full))
    if (refused := _precondition(original, precondition)) is not None:
        return refused
    spans = _spans(original, edits)
    if isinstance(spans, dict):
        return spans
    if (refused := _using_guard(original, spans)) is not None:
        return refused
    if len(spans) == 1 and (upgraded := _auto_upgrade(script, original, spans[0])):
        return upgraded
    spans.sort(key=lambda span: span[0], reverse=True)
    if (refused := _too_large(spans) or _text_overlap(spans)) is not None:
        return refused
    working = original
    for start, end, text in spans:
        working = working[:start] + text + working[end:]
    if working == original:
        return no_op(script.rel, original)
    if (refused := _unbalanced(working)) is not None:
        return refused
    if formatter is not None and validate != "syntax":
        working = to_units(formatter(from_units(working)))
    return _write(script, working, len(spans), refresh)


def _write(script: ScriptFile, working: str, applied: int, refresh: str | None) -> dict[str, Any]:
    rel = script.rel
    immediate = refresh in ("immediate", "sync")
    write_text(script.full, from_units(working))
    script.wrote(rel)
    data = {
        "uri": f"mcpforunity://path/{rel}",
        "path": rel,
        "editsApplied": applied,
        "sha256": sha256_text(from_units(working)),
        "scheduledRefresh": not immediate,
    }
    return success(f"Applied {applied} text edit(s) to '{rel}'.", data)


def _auto_upgrade(script: ScriptFile, original: str, span: Span) -> dict[str, Any] | None:
    """A single edit near a method header that overlaps the method: replace_method."""
    start, end, _ = span
    header = _METHOD_HEADER.search(original[max(0, start - 200) : min(len(original), start + 200)])
    if header is None:
        return None
    method = header.group(1)
    found = _find_method(original, script.name, method)
    if found is None:
        return None
    m_start = found[0]
    if not (start <= m_start + 2 and end >= m_start + 1):
        return None
    replacement = _method_after_edit(original, script.name, method, span, found)
    op = {
        "mode": "replace_method",
        "className": script.name,
        "methodName": method,
        "replacement": from_units(replacement),
    }
    return edit_script(script, [op], {"refresh": "immediate", "validate": "standard"})


def _find_method(source: str, class_name: str, method: str) -> tuple[int, int] | None:
    cls = class_span(source, class_name)
    found = method_span(source, cls[0], cls[1], method) if isinstance(cls, tuple) else None
    return found if isinstance(found, tuple) else None


def _method_after_edit(
    original: str, class_name: str, method: str, span: Span, before: tuple[int, int]
) -> str:
    """The method's text once the edit is applied: found again in the edited text, or else its
    old span shifted by the edit."""
    start, end, text = span
    candidate = original[:start] + text + original[end:]
    found = _find_method(candidate, class_name, method)
    if found is not None:
        return candidate[found[0] : found[0] + found[1]]
    m_start, m_len = before
    delta = len(text) - (end - start)
    adjusted = max(0, min(m_start + (delta if start <= m_start else 0), len(candidate)))
    within = delta if m_start <= start <= m_start + m_len else 0
    length = max(0, min(len(candidate) - adjusted, m_len + within))
    return candidate[adjusted : adjusted + length]


def _precondition(original: str, precondition: str | None) -> dict[str, Any] | None:
    """precondition_required without a precondition, stale_file when it is not the file's."""
    current = sha256_text(from_units(original))
    if not precondition:
        return error(
            "precondition_required", {"status": "precondition_required", "current_sha256": current}
        )
    if precondition.lower() != current:
        stale = {"expected_sha256": precondition, "current_sha256": current}
        return error("stale_file", {"status": "stale_file"} | stale)
    return None


def _spans(original: str, edits: list[Any]) -> list[tuple[int, int, str]] | dict[str, Any]:
    """The edits as (start, end, new text) in units, or the error the first bad one gets."""
    spans: list[tuple[int, int, str]] = []
    for edit in edits:
        try:
            sl, sc, el, ec = (
                max(1, _int(edit, k)) for k in ("startLine", "startCol", "endLine", "endCol")
            )
            new_text = edit.get("newText")
            new_text = "" if new_text is None else str(new_text)
        except (TypeError, ValueError, AttributeError) as exc:
            return error(f"Invalid edit payload: {exc}")
        start = index_from_line_col(original, sl, sc)
        if start is None:
            return error(f"apply_text_edits: start out of range (line {sl}, col {sc})")
        end = index_from_line_col(original, el, ec)
        if end is None:
            return error(f"apply_text_edits: end out of range (line {el}, col {ec})")
        spans.append((min(start, end), max(start, end), to_units(new_text)))
    return spans


def _using_guard(original: str, spans: list[tuple[int, int, str]]) -> dict[str, Any] | None:
    """using_guard when an edit starts before the first using directive."""
    boundary = 1 if original[:1] == "\ufeff" else 0
    if (using := _USING.search(original)) is not None:
        boundary = min(max(boundary, using.start()), len(original))
    if not any(start < boundary for start, _, _ in spans):
        return None
    hint = (
        "Refusing to edit before the first 'using'. Use anchor_insert near a method or a "
        "structured edit."
    )
    return error("using_guard", {"status": "using_guard", "hint": hint})


def _unbalanced(working: str) -> dict[str, Any] | None:
    """The final structural check: its code and error are the whole hint."""
    balanced, line, expected = check_balanced_delimiters(working)
    if balanced:
        return None
    first, last = max(1, line - 5), line + 5
    hint = (
        f"unbalanced_braces at line {line}. Call resources/read for lines {first}-{last} "
        "and resend a smaller apply_text_edits that restores balance."
    )
    data = {"status": "unbalanced_braces", "line": line, "expected": expected}
    return error(hint, data | {"evidenceWindow": {"startLine": first, "endLine": last}})


def _too_large(spans: list[tuple[int, int, str]]) -> dict[str, Any] | None:
    """too_large when the new texts come to more than 64 KiB of UTF-8."""
    if sum(len(from_units(text).encode("utf-8")) for *_, text in spans) <= MAX_EDIT_PAYLOAD_BYTES:
        return None
    limit = {"limitBytes": MAX_EDIT_PAYLOAD_BYTES, "hint": "split into smaller edits"}
    return error("too_large", {"status": "too_large"} | limit)


def _text_overlap(spans: list[tuple[int, int, str]]) -> dict[str, Any] | None:
    """overlap when, sorted from the back, an edit ends after the next one starts."""
    for i in range(1, len(spans)):
        if spans[i][1] > spans[i - 1][0]:
            conflict = {"startA": spans[i][0], "endA": spans[i][1]}
            conflict |= {"startB": spans[i - 1][0], "endB": spans[i - 1][1]}
            hint = "Sort ranges descending by start and compute from the same snapshot."
            return error("overlap", {"status": "overlap", "conflicts": [conflict], "hint": hint})
    return None


def _int(edit: Any, key: str) -> int:
    """JToken.Value<int>: a missing key is 0."""
    value = edit.get(key)
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"Could not convert {key} to Int32")
    return int(value) if not isinstance(value, float) else round(value)


def index_from_line_col(text: str, line1: int, col1: int) -> int | None:
    """TryIndexFromLineCol: the index of 1-based (line, column) in units text; CRLF and a lone
    CR are one newline, each UTF-16 code unit one column. None when there is no such place."""
    line = col = 1
    i, n = 0, len(text)
    while i <= n:
        if line == line1 and col == col1:
            return i
        if i == n:
            break
        c = text[i]
        if c == "\r":
            if i + 1 < n and text[i + 1] == "\n":
                i += 1
            line, col = line + 1, 1
        elif c == "\n":
            line, col = line + 1, 1
        else:
            col += 1
        i += 1
    return None
