"""unity-mcp's ManageScript.cs (the `manage_script` command of the Unity plugin) ported for the
Unity Editor stand-in: the actions create, read, update, delete, get_sha, validate,
apply_text_edits and edit (replace_method only), with their checks, messages and data shapes.

apply_text_edits keeps ManageScript's rules, including its auto-upgrade: a single edit whose
±200-character window matches a method header and that overlaps that method is re-routed into
replace_method of that method alone, taken from the edited text, so a change outside the
method in the same edit is dropped ("No-op: contents unchanged" with the old sha256 when the
method itself did not change). Scanning and validation are in csharp_source.py.

Results are the plugin's response objects: {success: true, message, data} (SuccessResponse) or
{success: false, code, error, data} (ErrorResponse, whose code and error are the same string).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.csharp_source import (
    BASIC,
    COMPREHENSIVE,
    STANDARD,
    STRICT,
    check_balanced_delimiters,
    class_span,
    from_units,
    method_span,
    to_units,
    validate_script_syntax,
)

MAX_EDIT_PAYLOAD_BYTES = 64 * 1024
_USING = re.compile(
    r"(?m)^\s*using\s+(?:static\s+)?(?:[A-Za-z_]\w*\s*=\s*)?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\s*;"
)
_METHOD_HEADER = re.compile(
    r"(?m)^[\t ]*(?:\[[^\]]+\][\t ]*)*[\t ]*(?:public|private|protected|internal|static|virtual|"
    r"override|sealed|async|extern|unsafe|new|partial)[\s\S]*?\b([A-Za-z_][A-Za-z0-9_]*)\s*\("
)
_LEVELS = {"basic": BASIC, "standard": STANDARD, "comprehensive": COMPREHENSIVE, "strict": STRICT}
_EDIT_MODES = (
    "replace_class, delete_class, replace_method, delete_method, insert_method, anchor_insert, "
    "anchor_delete, anchor_replace"
)

Wrote = Callable[[str], None]


def success(message: str | None, data: Any = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"success": True, "message": message}
    if data is not None:
        answer["data"] = data
    return answer


def error(message_or_code: str, data: Any = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"success": False, "code": message_or_code, "error": message_or_code}
    if data is not None:
        answer["data"] = data
    return answer


def param(params: dict[str, Any], key: str) -> Any:
    """ToolParams.GetToken: the key as given, then its snake_case, then its camelCase."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()
    camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
    for k in (key, snake, camel):
        if params.get(k) is not None:
            return params[k]
    return None


def text_param(params: dict[str, Any], key: str) -> str | None:
    value = param(params, key)
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    return value if isinstance(value, str) else str(value)


def bool_param(params: dict[str, Any], key: str, default: bool = False) -> bool:
    """ParamCoercion.CoerceBool."""
    value = param(params, key)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
    return default


def sha256_text(text: str) -> str:
    """ComputeSha256: of the UTF-8 bytes, lower-case hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_text(path: Path) -> str:
    """File.ReadAllText: UTF-8, a byte-order mark dropped, bad bytes as U+FFFD."""
    return path.read_bytes().decode("utf-8-sig", "replace")


def write_text(path: Path, text: str) -> None:
    """File.WriteAllText with UTF8Encoding(false) to a .tmp, then moved over the target."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(text.encode("utf-8", "replace"))
    os.replace(tmp, path)


class ManageScript:
    """The manage_script command over one project folder; wrote(path) is told of every file
    written or deleted (the editor then imports it and compiles)."""

    def __init__(self, project: Path, wrote: Wrote) -> None:
        self.project, self.wrote = project, wrote
        #: USE_ROSLYN's formatting of text edits (None: the default install, no Roslyn)
        self.formatter: Callable[[str], str] | None = None
        self.assets = os.path.abspath(project / "Assets").replace("\\", "/")

    def handle(self, params: dict[str, Any] | None) -> dict[str, Any]:
        if params is None:
            return error("invalid_params", "Parameters cannot be null.")
        action = text_param(params, "action")
        if not action:
            return error("'action' parameter is required.")
        name = text_param(params, "name")
        if not name:
            return error("'name' parameter is required.")
        action = action.lower()
        path = text_param(params, "path")
        if path is not None and path.lower().endswith(".cs"):
            path = os.path.dirname(path.replace("\\", "/"))
        contents = text_param(params, "contents")
        if bool_param(params, "contentsEncoded") and param(params, "encodedContents") is not None:
            try:
                decoded = base64.b64decode(text_param(params, "encodedContents") or "")
                contents = decoded.decode("utf-8", "replace")
            except (binascii.Error, ValueError) as exc:
                return error(f"Failed to decode script contents: {exc}")
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name):
            return error(
                f"Invalid script name: '{name}'. Use only letters, numbers, underscores, "
                "and don't start with a number."
            )
        resolved = self._under_assets(path)
        if resolved is None:
            shown = path if path is not None else "(null)"
            return error(
                f"Invalid path. Target directory must be within 'Assets/'. Provided: '{shown}'"
            )
        full_dir, rel_dir = resolved
        full, rel = Path(full_dir) / f"{name}.cs", f"{rel_dir}/{name}.cs"
        if action in ("create", "update"):
            Path(full_dir).mkdir(parents=True, exist_ok=True)
        return self._route(action, params, full, rel, name, contents)

    def _route(
        self,
        action: str,
        params: dict[str, Any],
        full: Path,
        rel: str,
        name: str,
        contents: str | None,
    ) -> dict[str, Any]:
        if action == "create":
            return self.create(full, rel, name, contents, params)
        if action == "read":
            return self.read(full, rel)
        if action == "update":
            return self.update(full, rel, name, contents)
        if action == "delete":
            return self.delete(full, rel)
        if action == "apply_text_edits":
            options = param(params, "options")
            options = options if isinstance(options, dict) else {}
            edits = param(params, "edits")
            return self.apply_text_edits(
                full,
                rel,
                name,
                edits if isinstance(edits, list) else None,
                text_param(params, "precondition_sha256"),
                str(options.get("refresh") or "").lower() or None,
                str(options.get("validate") or "").lower() or None,
            )
        if action == "validate":
            return self.validate(full, (text_param(params, "level") or "standard").lower())
        if action == "edit":
            edits, options = params.get("edits"), params.get("options")
            return self.edit(
                full,
                rel,
                edits if isinstance(edits, list) else None,
                options if isinstance(options, dict) else {},
            )
        if action == "get_sha":
            return self.get_sha(full, rel)
        return error(
            f"Unknown action: '{action}'. Valid actions are: create, delete, apply_text_edits, "
            "validate, read (deprecated), update (deprecated), edit (deprecated)."
        )

    def _under_assets(self, rel_dir: str | None) -> tuple[str, str] | None:
        """TryResolveUnderAssets: (full directory, "Assets/..."), or None outside Assets/."""
        rel = (rel_dir if rel_dir is not None else "Scripts").replace(
            "\\", "/"
        ).strip() or "Scripts"
        if rel.lower() == "assets":
            rel = ""
        elif rel.lower().startswith("assets/"):
            rel = rel[7:]
        full = os.path.abspath(os.path.join(self.assets, rel.lstrip("/"))).replace("\\", "/")
        assets = self.assets.lower()
        if not (full.lower().startswith(assets + "/") or full.lower() == assets):
            return None
        probe = full
        while len(probe) >= len(self.assets):
            if os.path.islink(probe):
                return None
            if probe.lower() == assets:
                break
            probe = os.path.dirname(probe)
        tail = full[len(self.assets) :].lstrip("/") if len(full) > len(self.assets) else ""
        return full, ("Assets/" + tail).rstrip("/")

    # -- the actions ----------------------------------------------------------------------

    def create(
        self, full: Path, rel: str, name: str, contents: str | None, params: dict[str, Any]
    ) -> dict[str, Any]:
        if full.exists():
            return error(f"Script already exists at '{rel}'. Use 'update' action to modify.")
        if not contents:
            contents = default_script(
                name, text_param(params, "scriptType"), text_param(params, "namespace")
            )
        valid, diagnostics = validate_script_syntax(to_units(contents), STANDARD)
        if not valid:
            return error(
                "validation_failed", {"status": "validation_failed", "diagnostics": diagnostics}
            )
        write_text(full, contents)
        answer = success(
            f"Script '{name}.cs' created successfully at '{rel}'.",
            {"uri": f"mcpforunity://path/{rel}", "scheduledRefresh": False},
        )
        self.wrote(rel)
        return answer

    def read(self, full: Path, rel: str) -> dict[str, Any]:
        if not full.is_file():
            return error(f"Script not found at '{rel}'.")
        contents = read_text(full)
        large = len(to_units(contents)) > 10000
        data = {
            "uri": f"mcpforunity://path/{rel}",
            "path": rel,
            "contents": contents,
            "encodedContents": base64.b64encode(contents.encode()).decode() if large else None,
            "contentsEncoded": large,
        }
        return success(f"Script '{os.path.basename(rel)}' read successfully.", data)

    def update(self, full: Path, rel: str, name: str, contents: str | None) -> dict[str, Any]:
        if not full.is_file():
            return error(f"Script not found at '{rel}'. Use 'create' action to add a new script.")
        if not contents:
            return error("Content is required for the 'update' action.")
        valid, diagnostics = validate_script_syntax(to_units(contents), STANDARD)
        if not valid:
            return error(
                "validation_failed", {"status": "validation_failed", "diagnostics": diagnostics}
            )
        write_text(full, contents)
        data = {"uri": f"mcpforunity://path/{rel}", "path": rel, "scheduledRefresh": True}
        self.wrote(rel)
        return success(f"Script '{name}.cs' updated successfully at '{rel}'.", data)

    def delete(self, full: Path, rel: str) -> dict[str, Any]:
        if not full.is_file():
            return error(f"Script not found at '{rel}'. Cannot delete.")
        full.unlink()
        full.with_name(full.name + ".meta").unlink(missing_ok=True)
        self.wrote(rel)
        return success(
            f"Script '{os.path.basename(rel)}' moved to trash successfully.", {"deleted": True}
        )

    def get_sha(self, full: Path, rel: str) -> dict[str, Any]:
        if not full.is_file():
            return error(f"Script not found at '{rel}'.")
        text = read_text(full)
        modified = datetime.fromtimestamp(full.stat().st_mtime, UTC)
        data = {
            "uri": f"mcpforunity://path/{rel}",
            "path": rel,
            "sha256": sha256_text(text),
            "lengthBytes": len(text.encode("utf-8")),
            "lastModifiedUtc": modified.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
        }
        return success(f"SHA computed for '{rel}'.", data)

    def validate(self, full: Path, level: str) -> dict[str, Any]:
        try:
            text = read_text(full)
        except OSError:
            return error(f"Failed to read script: Could not find file '{full}'.")
        ok, raw = validate_script_syntax(to_units(text), _LEVELS.get(level, STANDARD))
        diagnostics = []
        for line in raw:
            m = re.match(r"^(ERROR|WARNING|INFO): (.*?)(?: \(Line (\d+)\))?$", line, re.MULTILINE)
            diagnostics.append(
                {
                    "line": int(m.group(3)) if m and m.group(3) else 0,
                    "col": 0,
                    "severity": m.group(1).lower() if m else "info",
                    "message": m.group(2) if m else line,
                }
            )
        result = {"diagnostics": diagnostics}
        return (
            success("Validation completed.", result) if ok else error("Validation failed.", result)
        )

    def apply_text_edits(
        self,
        full: Path,
        rel: str,
        name: str,
        edits: list[Any] | None,
        precondition: str | None,
        refresh: str | None,
        validate: str | None = None,
    ) -> dict[str, Any]:
        if not full.is_file():
            return error(f"Script not found at '{rel}'.")
        if self._symlinked(full.parent):
            return error("Refusing to edit a symlinked script path.")
        if not edits:
            return error("No edits provided.")
        original = to_units(read_text(full))
        if (refused := _precondition(original, precondition)) is not None:
            return refused
        spans = _spans(original, edits)
        if isinstance(spans, dict):
            return spans
        if (refused := _using_guard(original, spans)) is not None:
            return refused
        if len(spans) == 1 and (
            upgraded := self._auto_upgrade(full, rel, name, original, spans[0])
        ):
            return upgraded
        spans.sort(key=lambda span: span[0], reverse=True)
        if (refused := _too_large(spans) or _text_overlap(spans)) is not None:
            return refused
        working = original
        for start, end, text in spans:
            working = working[:start] + text + working[end:]
        if working == original:
            return _no_op(rel, original)
        if (refused := _unbalanced(working)) is not None:
            return refused
        if self.formatter is not None and validate != "syntax":
            working = to_units(self.formatter(from_units(working)))
        immediate = refresh in ("immediate", "sync")
        write_text(full, from_units(working))
        self.wrote(rel)
        data = {
            "uri": f"mcpforunity://path/{rel}",
            "path": rel,
            "editsApplied": len(spans),
            "sha256": sha256_text(from_units(working)),
            "scheduledRefresh": not immediate,
        }
        return success(f"Applied {len(spans)} text edit(s) to '{rel}'.", data)

    def _auto_upgrade(
        self, full: Path, rel: str, name: str, original: str, span: tuple[int, int, str]
    ) -> dict[str, Any] | None:
        """A single edit near a method header that overlaps the method: replace_method."""
        start, end, text = span
        header = _METHOD_HEADER.search(
            original[max(0, start - 200) : min(len(original), start + 200)]
        )
        if header is None:
            return None
        method = header.group(1)
        cls = class_span(original, name)
        found = method_span(original, cls[0], cls[1], method) if isinstance(cls, tuple) else None
        if not isinstance(found, tuple):
            return None
        m_start, m_len = found
        if not (start <= m_start + 2 and end >= m_start + 1):
            return None
        candidate = original[:start] + text + original[end:]
        cls2 = class_span(candidate, name)
        found2 = (
            method_span(candidate, cls2[0], cls2[1], method) if isinstance(cls2, tuple) else None
        )
        if isinstance(found2, tuple):
            replacement = candidate[found2[0] : found2[0] + found2[1]]
        else:
            delta = len(text) - (end - start)
            adjusted = max(0, min(m_start + (delta if start <= m_start else 0), len(candidate)))
            within = delta if m_start <= start <= m_start + m_len else 0
            length = max(0, min(len(candidate) - adjusted, m_len + within))
            replacement = candidate[adjusted : adjusted + length]
        op = {
            "mode": "replace_method",
            "className": name,
            "methodName": method,
            "replacement": from_units(replacement),
        }
        return self.edit(full, rel, [op], {"refresh": "immediate", "validate": "standard"})

    def edit(
        self, full: Path, rel: str, edits: list[Any] | None, options: dict[str, Any]
    ) -> dict[str, Any]:
        """EditScript, replace_method only (the other structured modes are not modelled)."""
        if not full.is_file():
            return error(f"Script not found at '{rel}'.")
        if full.is_symlink():
            return error("Refusing to edit a symlinked script path.")
        if not edits:
            return error("No edits provided.")
        original = to_units(read_text(full))
        working = original
        sequential = str(options.get("applyMode") or "").lower() == "sequential"
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
        if not sequential and (overlap := _overlap(replacements)) is not None:
            return overlap
        if not sequential:
            for start, length, text in sorted(replacements, key=lambda r: r[0], reverse=True):
                working = working[:start] + text + working[start + length :]
        applied = len(edits)
        balanced, line, expected = check_balanced_delimiters(working)
        if not balanced:
            return error(
                "unbalanced_braces",
                {"status": "unbalanced_braces", "line": line, "expected": expected},
            )
        if working == original:
            return _no_op(rel, original)
        level = _LEVELS.get(str(options.get("validate") or "").lower(), STANDARD)
        valid, diagnostics = validate_script_syntax(working, level)
        if not valid:
            return error(
                "validation_failed", {"status": "validation_failed", "diagnostics": diagnostics}
            )
        immediate = str(options.get("refresh") or "").lower() in ("immediate", "sync")
        write_text(full, from_units(working))
        data = {
            "path": rel,
            "uri": f"mcpforunity://path/{rel}",
            "editsApplied": applied,
            "scheduledRefresh": not immediate,
            "sha256": sha256_text(from_units(working)),
        }
        self.wrote(rel)
        return success(f"Applied {applied} structured edit(s) to '{rel}'.", data)

    def _symlinked(self, folder: Path) -> bool:
        probe = os.path.abspath(folder).replace("\\", "/")
        while probe and probe.lower() != self.assets.lower() and probe != os.path.dirname(probe):
            if os.path.islink(probe):
                return True
            probe = os.path.dirname(probe)
        return False


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


def _int(edit: Any, key: str) -> int:
    """JToken.Value<int>: a missing key is 0."""
    value = edit.get(key)
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"Could not convert {key} to Int32")
    return int(value) if not isinstance(value, float) else round(value)


def _no_op(rel: str, original: str) -> dict[str, Any]:
    data = {
        "uri": f"mcpforunity://path/{rel}",
        "path": rel,
        "editsApplied": 0,
        "no_op": True,
        "sha256": sha256_text(from_units(original)),
        "evidence": {"reason": "identical_content"},
    }
    return success(f"No-op: contents unchanged for '{rel}'.", data)


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


def default_script(name: str, script_type: str | None, namespace: str | None) -> str:
    """GenerateDefaultScriptContent."""
    usings = "using UnityEngine;\nusing System.Collections;\n"
    body = (
        "\n    // Use this for initialization\n    void Start() {\n\n    }\n\n"
        "    // Update is called once per frame\n    void Update() {\n\n    }\n"
    )
    base = ""
    kind = (script_type or "").lower()
    if kind == "monobehaviour":
        base = " : MonoBehaviour"
    elif kind == "scriptableobject":
        base, body = " : ScriptableObject", ""
    elif kind in ("editor", "editorwindow"):
        usings += "using UnityEditor;\n"
        base, body = (" : Editor" if kind == "editor" else " : EditorWindow"), ""
    declaration = f"public class {name}{base}"
    content = f"{usings}\n"
    if namespace:
        content += f"namespace {namespace}\n{{\n"
        declaration = "    " + declaration
        body = "\n".join("    " + line for line in body.split("\n"))
    content += f"{declaration}\n{{\n{body}\n}}"
    if namespace:
        content += "\n}"
    return content.strip() + "\n"
