"""One job's calls on a Unity instance through unity-mcp's tools (an EditorSession).

Every write is verified: SPARK's version goes in as `apply_text_edits` calls ManageScript
applies literally (see script_edits), each guarded by the SHA-256 of the text it starts from,
and the SHA-256 the editor reports after each must be that of the text SPARK planned. An editor
that ends up holding anything else has the file read back and the write reported refused
with what the editor said; it is never reported pushed.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from PIL import Image

from spark.domain.files import sha256_of
from spark.engines.unity import preview_image
from spark.engines.unity.bridge import (
    Diagnostic,
    Editor,
    EditorInstance,
    EditorRefused,
    Pushed,
    Screenshot,
)
from spark.engines.unity.mcp_calls import SERVER_FAILURES, Answer
from spark.engines.unity.script_edits import Batch, Unplannable, plan

log = logging.getLogger(__name__)

#: a tool call on the attached instance: (tool, arguments) -> the server's answer
Caller = Callable[[str, dict[str, Any]], Answer]
#: where captures go: in the project, outside Assets/ (so nothing is imported), in the folder
#: Unity empties itself when the editor closes
CAPTURE_FOLDER = "Temp/SparkPreviews"


class McpEditorSession:
    """EditorSession on unity-mcp's tools."""

    def __init__(
        self,
        call: Caller,
        editor: Editor,
        instance: EditorInstance,
        game_views: dict[tuple[str, str], tuple[int, int]],
    ) -> None:
        self._call, self._editor, self._instance = call, editor, instance
        self._views, self._view_key = game_views, (editor.url, instance.hash)

    @property
    def instance(self) -> EditorInstance:
        return self._instance

    def open_scene(self, scene: str) -> None:
        self._ok("manage_scene", self._call("manage_scene", {"action": "load", "path": scene}))

    def screenshot(self, *, width: int, height: int, camera: str | None = None) -> Screenshot:
        """Capture at a multiple of the game view large enough for width x height; a capture
        that turns out smaller teaches the game view's size and is taken again."""
        view = self._views.get(self._view_key)
        factor = 1 if view is None else preview_image.super_size(view, width, height)
        shot = self._capture(factor, max(width, height), camera)
        if max(shot.width, shot.height) < max(width, height):
            # not reduced to the asked size, so this is the whole capture: view x factor
            view = (round(shot.width / factor), round(shot.height / factor))
            self._views[self._view_key] = view
            needed = preview_image.super_size(view, width, height)
            if needed > factor:
                shot = self._capture(needed, max(width, height), camera)
        return shot

    def write_file(self, path: str, content: bytes, precondition_sha256: str | None) -> Pushed:
        """Create the script when new, else edit the editor's copy into content, only over
        the version SPARK expects (unity-mcp has no plain overwrite)."""
        folder, _, filename = path.rpartition("/")
        if not filename.endswith(".cs") or not folder:
            raise self._refused("write_file", "bad_extension", f"{path} is no script")
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise self._refused("write_file", "not_utf8", f"{path} is not UTF-8 text") from None
        current_text = self._read(path)
        current = sha256_of(current_text.encode()) if current_text is not None else None
        wanted = sha256_of(content)
        if current == wanted:
            return Pushed(path, wanted)
        if current_text is None and precondition_sha256 is None:
            return self._create(path, text, wanted)
        if current_text is None or precondition_sha256 is None or current != precondition_sha256:
            return Pushed(path, current, True, precondition_sha256, current)
        return self._edit(path, current_text, text, wanted)

    def delete_file(self, path: str, precondition_sha256: str) -> Pushed:
        """Delete the script when the editor's copy is SPARK's previous version. unity-mcp has
        no conditional delete: the copy is read, then deleted, while this job holds the
        instance, so no other job's write lands in between."""
        folder, _, filename = path.rpartition("/")
        if not filename.endswith(".cs") or not folder:
            return self._delete_asset(path)
        current = self._holds(path)
        if current is None:
            return Pushed(path, None)  # gone already (a retried job, or deleted in Unity)
        if current != precondition_sha256:
            return Pushed(path, current, True, precondition_sha256, current)
        args = {"action": "delete", "name": filename.removesuffix(".cs"), "path": folder}
        answer = self._call("manage_script", args)
        if answer.failed and "not found" not in answer.error.lower():
            self._ok("manage_script", answer)
        holds = self._holds(path)
        if holds is not None:
            raise self._refused(
                "manage_script", "mismatch", f"the editor still holds {path} as {holds}"
            )
        return Pushed(path, None)

    def _delete_asset(self, path: str) -> Pushed:
        """Any other asset: unity-mcp cannot read its content, so SPARK cannot tell its own
        version from one edited in Unity, and never deletes it; one the editor does not have
        is gone already."""
        answer = self._call("manage_asset", {"action": "get_info", "path": path})
        if answer.failed and "not found" in answer.error.lower():
            return Pushed(path, None)
        self._ok("manage_asset", answer)
        raise self._refused(
            "manage_asset",
            "not_comparable",
            f"{path} is no script: its copy in the editor cannot be compared with SPARK's, "
            "so it is left for deletion in Unity",
        )

    def refresh(self) -> None:
        # Asking for the compile (which the writes already asked for) is what makes the
        # plugin answer at once and the server wait for the editor (60 s); without it the
        # plugin itself waits, and a compile over 30 s times its command out.
        args = {"mode": "if_dirty", "scope": "all", "compile": "request", "wait_for_ready": True}
        self._ok("refresh_unity", self._call("refresh_unity", args))

    def console(self, types: Sequence[str] = ("error",)) -> list[Diagnostic]:
        args = {"action": "get", "types": list(types), "format": "json", "count": 500}
        data = self._ok("read_console", self._call("read_console", args)).data
        items = data.get("items", []) if isinstance(data, dict) else data or []
        return [_diagnostic(item) for item in items if isinstance(item, dict)]

    # -- capturing ------------------------------------------------------------------------

    def _capture(self, factor: int, max_resolution: int, camera: str | None) -> Screenshot:
        args: dict[str, Any] = {
            "action": "screenshot",
            "capture_source": "game_view",
            "include_image": True,
            "max_resolution": max_resolution,
            "screenshot_super_size": factor,
            "output_folder": CAPTURE_FOLDER,
            "screenshot_file_name": f"spark-{uuid.uuid4().hex[:12]}.png",
        }
        if camera:
            args["camera"] = camera
        answer = self._ok("manage_camera", self._call("manage_camera", args))
        if answer.images:
            encoded = answer.images[0].data
        elif isinstance(answer.data, dict) and answer.data.get("imageBase64"):
            encoded = str(answer.data["imageBase64"])
        else:
            raise self._refused("manage_camera", "no_image", "no image came back")
        try:
            png = base64.b64decode(encoded, validate=True)
            with Image.open(io.BytesIO(png)) as decoded:
                width, height = decoded.size
        except (binascii.Error, OSError) as exc:
            raise self._refused("manage_camera", "bad_image", str(exc)) from None
        return Screenshot(png, "image/png", width, height)

    # -- writing --------------------------------------------------------------------------

    def _read(self, path: str) -> str | None:
        folder, _, filename = path.rpartition("/")
        args = {"action": "read", "name": filename.removesuffix(".cs"), "path": folder}
        answer = self._call("manage_script", args)
        if answer.failed:
            if "not found" in answer.error.lower():
                return None
            self._ok("manage_script", answer)
        data = answer.data if isinstance(answer.data, dict) else {}
        if data.get("contentsEncoded") and data.get("encodedContents"):
            return base64.b64decode(data["encodedContents"]).decode("utf-8")
        return str(data.get("contents", ""))

    def _holds(self, path: str) -> str | None:
        """The SHA-256 of the editor's copy of path (None: it has none)."""
        text = self._read(path)
        return sha256_of(text.encode()) if text is not None else None

    def _create(self, path: str, text: str, wanted: str) -> Pushed:
        answer = self._call("create_script", {"path": path, "contents": text})
        self._ok("create_script", answer)
        self._verify("create_script", path, wanted, answer)
        return Pushed(path, wanted)

    def _edit(self, path: str, old: str, new: str, wanted: str) -> Pushed:
        try:
            batches = plan(old, new)
        except Unplannable as exc:
            raise self._refused("apply_text_edits", "too_large", str(exc)) from None
        for batch in batches:
            stale = self._apply(path, batch)
            if stale is not None:
                return stale
        return Pushed(path, wanted)

    def _apply(self, path: str, batch: Batch) -> Pushed | None:
        """One call of the plan; a Pushed when the editor's copy changed under SPARK."""
        before, after = sha256_of(batch.before.encode()), sha256_of(batch.after.encode())
        args = {
            "uri": f"mcpforunity://path/{path}",
            "edits": list(batch.edits),
            "precondition_sha256": before,
        }
        answer = self._call("apply_text_edits", args)
        if answer.payload.get("code") in SERVER_FAILURES:
            # The server failed without an answer from the editor (it does when the editor
            # reloads before the write lands): what the editor holds says what happened.
            holds = self._holds(path)
            if holds == after:
                return None
            if holds == before:
                answer = self._call("apply_text_edits", args)
        data = answer.data if isinstance(answer.data, dict) else {}
        if answer.failed and answer.payload.get("code") == "stale_file":
            current = data.get("current_sha256")
            if current == after:
                return None  # asked again after a reload: the first call had landed
            return Pushed(path, current, True, data.get("expected_sha256", before), current)
        self._ok("apply_text_edits", answer)
        self._verify("apply_text_edits", path, after, answer)
        return None

    def _verify(self, tool: str, path: str, wanted: str, answer: Answer) -> None:
        """EditorRefused unless the editor's copy of path now hashes to wanted."""
        data = answer.data if isinstance(answer.data, dict) else {}
        reported = data.get("sha256")
        if reported == wanted:
            return
        holds = self._holds(path)
        if holds == wanted:
            return
        said = str(answer.payload.get("message") or answer.error or "success")
        raise self._refused(
            tool,
            "mismatch",
            f"the editor holds {path} as {holds}, not SPARK's {wanted} (it answered: {said})",
        )

    # -- answers --------------------------------------------------------------------------

    def _ok(self, tool: str, answer: Answer) -> Answer:
        if answer.failed:
            code = str(answer.payload.get("code") or "error")
            data = answer.data if isinstance(answer.data, dict) else {}
            hint = f" ({data['hint']})" if data.get("hint") else ""
            raise self._refused(tool, code, (answer.error or code) + hint)
        return answer

    def _refused(self, tool: str, code: str, error: str) -> EditorRefused:
        return EditorRefused(self._editor.url, tool, code, f"{error} [{self._instance.id}]")


def _diagnostic(item: dict[str, Any]) -> Diagnostic:
    line = item.get("line")
    return Diagnostic(
        file=str(item.get("file") or ""),
        line=int(line) if isinstance(line, int | str) and str(line).isdigit() else 0,
        message=str(item.get("message", "")),
        severity=str(item.get("type") or "error").lower(),
    )
