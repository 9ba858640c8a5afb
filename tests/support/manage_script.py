"""unity-mcp's ManageScript.cs (the `manage_script` command of the Unity plugin) ported for the
Unity Editor stand-in: the command's routing (its parameters, the script's folder resolved under
Assets/) and the file actions create, read, update, delete, get_sha and validate, with their
checks, messages and data shapes.

The edit actions have modules of their own, being most of the port and all of its rules:
apply_text_edits in script_text_edits.py, edit (replace_method only) in
script_structured_edits.py. The C# scanning and validation are in csharp_lexer.py,
csharp_spans.py and csharp_validation.py; answers are the plugin's response objects
(plugin_protocol.py).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.csharp_lexer import to_units
from tests.support.csharp_validation import LEVELS, STANDARD, validate_script_syntax
from tests.support.plugin_protocol import bool_param, error, param, success, text_param
from tests.support.script_files import ScriptFile, Wrote, read_text, sha256_text, write_text
from tests.support.script_structured_edits import edit_script
from tests.support.script_text_edits import Formatter, apply_text_edits


class ManageScript:
    """The manage_script command over one project folder; wrote(path) is told of every file
    written or deleted (the editor then imports it and compiles)."""

    def __init__(self, project: Path, wrote: Wrote) -> None:
        self.project, self.wrote = project, wrote
        #: USE_ROSLYN's formatting of text edits (None: the default install, no Roslyn)
        self.formatter: Formatter | None = None
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
            return self._apply_text_edits(ScriptFile(full, rel, name, self.wrote), params)
        if action == "validate":
            return self.validate(full, (text_param(params, "level") or "standard").lower())
        if action == "edit":
            return self._edit_script(ScriptFile(full, rel, name, self.wrote), params)
        if action == "get_sha":
            return self.get_sha(full, rel)
        return error(
            f"Unknown action: '{action}'. Valid actions are: create, delete, apply_text_edits, "
            "validate, read (deprecated), update (deprecated), edit (deprecated)."
        )

    def _apply_text_edits(self, script: ScriptFile, params: dict[str, Any]) -> dict[str, Any]:
        options = param(params, "options")
        options = options if isinstance(options, dict) else {}
        edits = param(params, "edits")
        return apply_text_edits(
            script,
            edits if isinstance(edits, list) else None,
            text_param(params, "precondition_sha256"),
            str(options.get("refresh") or "").lower() or None,
            str(options.get("validate") or "").lower() or None,
            formatter=self.formatter,
            assets=self.assets,
        )

    def _edit_script(self, script: ScriptFile, params: dict[str, Any]) -> dict[str, Any]:
        edits, options = params.get("edits"), params.get("options")
        return edit_script(
            script,
            edits if isinstance(edits, list) else None,
            options if isinstance(options, dict) else {},
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
        ok, raw = validate_script_syntax(to_units(text), LEVELS.get(level, STANDARD))
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
