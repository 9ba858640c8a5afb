"""EditScript of ManageScript.cs (the `edit` action) ported for the Unity Editor stand-in, for
replace_method only: the other structured modes answer that they are not modelled, since SPARK
sends none of them. apply_text_edits' auto-upgrade (script_text_edits.py) re-routes into
replace_method, so the no-op answer both kinds of edit give is here too.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from typing import Any

from tests.support.csharp_lexer import from_units, to_units
from tests.support.csharp_spans import class_span, method_span
from tests.support.csharp_validation import (
    LEVELS,
    STANDARD,
    check_balanced_delimiters,
    validate_script_syntax,
)
from tests.support.plugin_protocol import error, success
from tests.support.script_files import ScriptFile, read_text, sha256_text, write_text

_EDIT_MODES = (
    "replace_class, delete_class, replace_method, delete_method, insert_method, anchor_insert, "
    "anchor_delete, anchor_replace"
)


def edit_script(
    script: ScriptFile, edits: list[Any] | None, options: dict[str, Any]
) -> dict[str, Any]:
    """EditScript, replace_method only (the other structured modes are not modelled)."""
    full, rel = script.full, script.rel
    if not full.is_file():
        return error(f"Script not found at '{rel}'.")
    if full.is_symlink():
        return error("Refusing to edit a symlinked script path.")
    if not edits:
        return error("No edits provided.")
    original = to_units(read_text(full))
    sequential = str(options.get("applyMode") or "").lower() == "sequential"
    working = _replace_methods(original, edits, sequential)
    if isinstance(working, dict):
        return working
    balanced, line, expected = check_balanced_delimiters(working)
    if not balanced:
        return error(
            "unbalanced_braces",
            {"status": "unbalanced_braces", "line": line, "expected": expected},
        )
    if working == original:
        return no_op(rel, original)
    level = LEVELS.get(str(options.get("validate") or "").lower(), STANDARD)
    valid, diagnostics = validate_script_syntax(working, level)
    if not valid:
        return error(
            "validation_failed", {"status": "validation_failed", "diagnostics": diagnostics}
        )
    return _write(script, working, len(edits), options)


def _replace_methods(original: str, edits: list[Any], sequential: bool) -> str | dict[str, Any]:
    """The text with every replace_method applied, or the error the first bad one gets.
    Sequential mode finds each method in the text the ones before left; otherwise all are found
    in the original and applied from the back, refused when they overlap."""
    working = original
    replacements: list[tuple[int, int, str]] = []
    for op in edits:
        found = _replace_method_span(working, op)
        if isinstance(found, dict):
            return found
        start, length, text = found
        if sequential:
            working = working[:start] + text + working[start + length :]
        else:
            replacements.append(found)
    if sequential:
        return working
    if (overlap := _overlap(replacements)) is not None:
        return overlap
    for start, length, text in sorted(replacements, key=lambda r: r[0], reverse=True):
        working = working[:start] + text + working[start + length :]
    return working


def _write(
    script: ScriptFile, working: str, applied: int, options: dict[str, Any]
) -> dict[str, Any]:
    rel = script.rel
    immediate = str(options.get("refresh") or "").lower() in ("immediate", "sync")
    write_text(script.full, from_units(working))
    data = {
        "path": rel,
        "uri": f"mcpforunity://path/{rel}",
        "editsApplied": applied,
        "scheduledRefresh": not immediate,
        "sha256": sha256_text(from_units(working)),
    }
    script.wrote(rel)
    return success(f"Applied {applied} structured edit(s) to '{rel}'.", data)


def no_op(rel: str, original: str) -> dict[str, Any]:
    """The answer to an edit that leaves the text as it was: nothing written."""
    data = {
        "uri": f"mcpforunity://path/{rel}",
        "path": rel,
        "editsApplied": 0,
        "no_op": True,
        "sha256": sha256_text(from_units(original)),
        "evidence": {"reason": "identical_content"},
    }
    return success(f"No-op: contents unchanged for '{rel}'.", data)


def _overlap(replacements: list[tuple[int, int, str]]) -> dict[str, Any] | None:
    """EditScript's HasOverlaps, and the first conflict from the back."""
    ascending = sorted(replacements, key=lambda r: r[0])
    if not any(a[0] + a[1] > b[0] for a, b in itertools.pairwise(ascending)):
        return None
    ordered = sorted(replacements, key=lambda r: r[0], reverse=True)
    for i in range(1, len(ordered)):
        a, b = ordered[i], ordered[i - 1]
        if a[0] + a[1] > b[0]:
            conflict = {"startA": a[0], "endA": a[0] + a[1], "startB": b[0], "endB": b[0] + b[1]}
            hint = "Sort ranges descending by start and compute from the same snapshot."
            return error("overlap", {"status": "overlap", "conflicts": [conflict], "hint": hint})
    return error("overlap", {"status": "overlap"})


def _replace_method_span(working: str, op: Any) -> tuple[int, int, str] | dict[str, Any]:
    if not isinstance(op, dict):
        return error("Edit failed: Unable to cast object to type 'Newtonsoft.Json.Linq.JObject'.")
    mode = str(op.get("mode") or op.get("op") or "").lower()
    if mode != "replace_method":
        if mode and mode in _EDIT_MODES.split(", "):
            return error(f"Unity Editor stand-in: edit mode '{mode}' is not modelled.")
        return error(f"Unknown edit mode: '{mode}'. Allowed: {_EDIT_MODES}.")
    class_name, method = op.get("className"), op.get("methodName")
    replacement = _replacement(op)
    if not class_name or not str(class_name).strip():
        return error("replace_method requires 'className'.")
    if not method or not str(method).strip():
        return error("replace_method requires 'methodName'.")
    if replacement is None:
        return error("replace_method requires 'replacement' (inline or base64).")
    if any(op.get(k) for k in ("returnType", "parametersSignature", "attributesContains")):
        return error("Unity Editor stand-in: replace_method filters are not modelled.")
    cls = class_span(working, str(class_name), op.get("namespace"))
    if isinstance(cls, str):
        return error(f"replace_method failed to locate class: {cls}")
    found = method_span(working, cls[0], cls[1], str(method))
    if isinstance(found, str):
        return error(f"replace_method failed: {found}.")
    normalized = to_units(replacement).replace("\r\n", "\n").replace("\r", "\n")
    return found[0], found[1], normalized


def _replacement(op: dict[str, Any]) -> str | None:
    if op.get("replacement"):
        return str(op["replacement"])
    if op.get("replacementBase64"):
        try:
            return base64.b64decode(str(op["replacementBase64"])).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None
    return None
