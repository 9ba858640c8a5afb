"""The Unity Editor of the stand-in (tests/support/unity_editor.py) without its connection:
its project folder, its state and the plugin commands it answers, ported from the unity-mcp
plugin's C# (TransportCommandDispatcher, EditorStateCache, ProjectInfo, RefreshUnity,
ReadConsole, ManageScene, ManageCamera; ManageScript in manage_script.py, ManageAsset's
get_info and delete in manage_asset.py, screenshots in editor_screenshots.py).

Any successful write of a script starts a compile of `compile_seconds`; when it ends, every
`#error` line of a `.cs` file under Assets/ is a compile error in the console. The editor is
unfocused, so its state snapshot is stamped when read (EditorStateCache.GetSnapshot), and it
runs Unity 6: refresh_unity does not wait for a compile it requested.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import editor_screenshots as shots
from tests.support.manage_asset import ManageAsset
from tests.support.manage_script import ManageScript
from tests.support.plugin_protocol import bool_param, error, param, success, text_param

UNITY_VERSION = "6000.0.32f1"
SAMPLE_SCENE = "Assets/Scenes/SampleScene.unity"

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def _now_ms() -> int:
    return int(time.time() * 1000)


def reformat(text: str) -> str:
    """The stand-in's code formatter: leading runs of four spaces as tabs, no trailing blanks."""
    lines = []
    for line in text.split("\n"):
        body = line.lstrip(" ")
        indent = len(line) - len(body)
        lines.append("\t" * (indent // 4) + " " * (indent % 4) + body.rstrip())
    return "\n".join(lines)


class EditorCommands:
    """A Unity Editor's project and state, and its answers to the plugin's commands."""

    def __init__(
        self,
        project_dir: Path | str,
        game_view: tuple[int, int] = (1920, 1080),
        unity_version: str = UNITY_VERSION,
    ) -> None:
        self.project_dir = Path(project_dir).resolve()
        self.game_view, self.unity_version = game_view, unity_version
        #: how long the compile after each script write lasts
        self.compile_seconds = 0.0
        self.cameras: list[str] = ["Main Camera"]
        self.scene = SAMPLE_SCENE
        self._lock = threading.RLock()
        self._console: list[dict[str, Any]] = []
        self._compile_until: float | None = None
        self._compiled: tuple[tuple[str, int, int], ...] | None = None
        self._stamps: dict[str, int | None] = {"started": None, "finished": None}
        self._sequence = 0
        self.script = ManageScript(self.project_dir, lambda _path: self.start_compile())
        self.asset = ManageAsset(self.project_dir, lambda _path: self.start_compile())
        scene = self.project_dir / SAMPLE_SCENE
        if not scene.exists():
            scene.parent.mkdir(parents=True, exist_ok=True)
            scene.write_text("%YAML 1.1\n%TAG !u! tag:unity3d.com,2011:\n")
        # Opening a project compiles its scripts.
        self._compile_until = time.monotonic()
        self._settle()

    def write(self, path: str, text: str) -> Path:
        """A file of the project (path relative to it), UTF-8 without BOM, as written."""
        target = self.project_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
        return target

    def read(self, path: str) -> str:
        return (self.project_dir / path).read_bytes().decode("utf-8")

    def log(self, message: str, kind: str = "Log", file: str = "", line: int = 0) -> None:
        """An entry in the editor's console (kind: Log, Warning, Error)."""
        with self._lock:
            self._console.append({"type": kind, "message": message, "file": file, "line": line})

    @property
    def reformat_on_edit(self) -> bool:
        """Whether text edits are written formatted (ManageScript built with Roslyn formats
        the edited text; here: indentation as tabs, trailing blanks dropped), so the file and
        its sha256 are not what the caller sent."""
        return self.script.formatter is not None

    @reformat_on_edit.setter
    def reformat_on_edit(self, on: bool) -> None:
        self.script.formatter = reformat if on else None

    def compiling(self) -> bool:
        with self._lock:
            self._settle()
            return self._compile_until is not None

    def start_compile(self) -> None:
        """A script compilation of compile_seconds from now (one already running is extended)."""
        with self._lock:
            self._settle()
            if self._compile_until is None:
                self._stamps["started"] = _now_ms()
                self._sequence += 1
            self._compile_until = time.monotonic() + self.compile_seconds
            self._settle()

    async def dispatch(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """TransportCommandDispatcher.ProcessCommand with CommandRegistry's handlers: the
        result envelope of one command."""
        if name.lower() == "ping":
            return {"status": "success", "result": {"message": "pong"}}
        handlers: dict[str, Handler] = {
            "get_editor_state": lambda _p: success("Retrieved editor state.", self.snapshot()),
            "get_project_info": lambda _p: success("Retrieved project info.", self.project_info()),
            "manage_script": self.script.handle,
            "manage_asset": self.asset.handle,
            "manage_camera": self.manage_camera,
            "manage_scene": self.manage_scene,
            "read_console": self.read_console,
        }
        try:
            if name == "refresh_unity":
                result = await self.refresh_unity(params)
            elif name in handlers:
                result = handlers[name](params)
            else:
                raise LookupError(f"Unknown or unsupported command type: {name}")
        except Exception as exc:
            return {
                "status": "error",
                "error": str(exc),
                "command": "Unknown (error during processing)",
                "stackTrace": traceback.format_exc(),
            }
        return {"status": "success", "result": result}

    def _settle(self) -> None:
        """End a compile whose time is up: its errors replace the console's compile errors."""
        if self._compile_until is None or time.monotonic() < self._compile_until:
            return
        self._compile_until = None
        self._stamps["finished"] = _now_ms()
        self._sequence += 1
        self._compiled = self._scripts()
        errors = []
        for script in sorted((self.project_dir / "Assets").rglob("*.cs")):
            rel = script.relative_to(self.project_dir).as_posix()
            for number, text in enumerate(script.read_text(errors="replace").split("\n"), 1):
                if "#error" in text:
                    message = f"{rel}({number},1): error CS1029: {text.strip()}"
                    errors.append(
                        {
                            "type": "Error",
                            "message": message,
                            "file": rel,
                            "line": number,
                            "compile": True,
                        }
                    )
        self._console = [e for e in self._console if not e.get("compile")] + errors

    def _scripts(self) -> tuple[tuple[str, int, int], ...]:
        found = []
        for script in sorted((self.project_dir / "Assets").rglob("*.cs")):
            stat = script.stat()
            found.append((script.as_posix(), stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def snapshot(self) -> dict[str, Any]:
        """EditorStateCache's snapshot (schema unity-mcp/editor_state@2)."""
        with self._lock:
            self._settle()
            compiling = self._compile_until is not None
            now = _now_ms()
            scene = self.scene
            return {
                "schema_version": "unity-mcp/editor_state@2",
                "observed_at_unix_ms": now,
                "sequence": self._sequence,
                "unity": {
                    "instance_id": None,
                    "unity_version": self.unity_version,
                    "project_id": None,
                    "platform": "LinuxEditor",
                    "is_batch_mode": False,
                },
                "editor": {
                    "is_focused": False,
                    "play_mode": {"is_playing": False, "is_paused": False, "is_changing": False},
                    "active_scene": {
                        "path": scene,
                        "guid": hashlib.md5(scene.encode()).hexdigest(),
                        "name": Path(scene).stem,
                    },
                },
                "activity": {
                    "phase": "compiling" if compiling else "idle",
                    "since_unix_ms": now,
                    "reasons": ["tick"],
                },
                "compilation": {
                    "is_compiling": compiling,
                    "is_domain_reload_pending": False,
                    "last_compile_started_unix_ms": self._stamps["started"],
                    "last_compile_finished_unix_ms": self._stamps["finished"],
                    "last_domain_reload_before_unix_ms": None,
                    "last_domain_reload_after_unix_ms": None,
                },
                "assets": {
                    "is_updating": False,
                    "external_changes_dirty": False,
                    "external_changes_last_seen_unix_ms": None,
                    "external_changes_dirty_since_unix_ms": None,
                    "external_changes_last_cleared_unix_ms": None,
                    "refresh": {
                        "is_refresh_in_progress": False,
                        "last_refresh_requested_unix_ms": None,
                        "last_refresh_finished_unix_ms": None,
                    },
                },
                "tests": {
                    "is_running": False,
                    "mode": None,
                    "current_job_id": None,
                    "started_unix_ms": None,
                    "started_by": "unknown",
                    "last_run": None,
                },
                "transport": {"unity_bridge_connected": None, "last_message_unix_ms": None},
                "settings": {"batch_execute_max_commands": 25},
            }

    def project_info(self) -> dict[str, Any]:
        return {
            "projectRoot": self.project_dir.as_posix(),
            "projectName": self.project_dir.name,
            "unityVersion": self.unity_version,
            "platform": "StandaloneLinux64",
            "assetsPath": (self.project_dir / "Assets").as_posix(),
            "renderPipeline": "BuiltIn",
            "activeInputHandler": "Old",
            "packages": {
                "ugui": True,
                "textmeshpro": False,
                "inputsystem": False,
                "uiToolkit": True,
                "screenCapture": True,
            },
        }

    async def refresh_unity(self, params: dict[str, Any]) -> dict[str, Any]:
        """RefreshUnity.HandleCommand on Unity 6: a requested compile is not waited for."""
        mode = str(params.get("mode") or "if_dirty").lower()
        scope = str(params.get("scope") or "all").lower()
        compile_requested = str(params.get("compile") or "none").lower() == "request"
        wait = bool_param(params, "wait_for_ready")
        refresh_triggered = mode in ("force", "if_dirty") and scope != "scripts"
        with self._lock:
            if (refresh_triggered or scope == "all") and self._scripts() != self._compiled:
                self.start_compile()  # AssetDatabase.Refresh imports changed scripts
            if compile_requested:
                self.start_compile()
        refresh_triggered = refresh_triggered or scope == "all"
        if wait and not compile_requested:
            deadline = time.monotonic() + 60
            while self.compiling():
                if time.monotonic() > deadline:
                    timed_out = {
                        "refresh_triggered": refresh_triggered,
                        "compile_requested": compile_requested,
                        "resulting_state": "unknown",
                    }
                    return error("refresh_timeout_waiting_for_ready", timed_out)
                await asyncio.sleep(0.05)
        hint = (
            "Unity refresh completed; editor should be ready."
            if wait and not compile_requested
            else "If Unity enters compilation/domain reload, poll editor_state until ready_for_tools is true."
        )
        data = {
            "refresh_triggered": refresh_triggered,
            "compile_requested": compile_requested,
            "resulting_state": "compiling" if self.compiling() else "idle",
            "hint": hint,
        }
        return success("Refresh requested.", data)

    def read_console(self, params: dict[str, Any]) -> dict[str, Any]:
        """ReadConsole: get (types, count, filterText, pageSize/cursor, format) or clear."""
        action = (text_param(params, "action") or "get").lower()
        with self._lock:
            self._settle()
            if action == "clear":
                self._console = []
                return success("Console cleared successfully.")
            if action != "get":
                return error(f"Unknown action: '{action}'. Valid actions are 'get' or 'clear'.")
            entries = list(self._console)
        raw_types = param(params, "types")
        types = (
            [str(t).lower() for t in raw_types]
            if isinstance(raw_types, list)
            else ["error", "warning"]
        )
        if "all" in types:
            types = ["error", "warning", "log"]
        wanted = [e for e in entries if e["type"].lower() in types]
        needle = text_param(params, "filterText")
        if needle:
            wanted = [e for e in wanted if needle.lower() in e["message"].lower()]
        fmt = (text_param(params, "format") or "plain").lower()
        items: list[Any] = [
            e["message"]
            if fmt == "plain"
            else {k: e[k] for k in ("type", "message", "file", "line")} | {"stackTrace": None}
            for e in wanted
        ]
        page_size, cursor = param(params, "pageSize"), param(params, "cursor")
        if page_size is not None or cursor is not None:
            size = min(max(int(page_size or 50), 1), 500)
            start = max(0, int(cursor or 0))
            chosen = items[start : start + size]
            page = {
                "cursor": start,
                "pageSize": size,
                "nextCursor": str(start + size) if len(items) > start + size else None,
                "truncated": len(items) > start + size,
                "total": min(len(items), start + size + 1),
                "items": chosen,
            }
            return success(f"Retrieved {len(chosen)} log entries.", page)
        count = param(params, "count")
        if count is not None:
            items = items[: int(count)]
        return success(f"Retrieved {len(items)} log entries.", items)

    def manage_scene(self, params: dict[str, Any]) -> dict[str, Any]:
        """ManageScene: load (by path or name) and get_active."""
        action = str(params.get("action") or "").strip().lower()
        name, path = params.get("name") or None, params.get("path") or None
        if not action:
            return error("Action parameter is required.")
        if action == "get_active":
            with self._lock:
                scene = self.scene
            data = {"name": Path(scene).stem, "path": scene, "buildIndex": 0, "isDirty": False}
            data |= {"isLoaded": True, "rootCount": len(self.cameras)}
            return success("Retrieved active scene information.", data)
        if action != "load":
            return error(f"Unity Editor stand-in: manage_scene action '{action}' is not modelled.")
        rel_dir = str(path or "").replace("\\", "/").strip("/")
        if rel_dir.lower().startswith("assets/"):
            rel_dir = rel_dir[len("Assets/") :].lstrip("/")
        if rel_dir.lower().endswith(".unity"):
            rel_dir = rel_dir.rpartition("/")[0]
        load = "/".join(p for p in ("Assets", rel_dir, f"{name}.unity") if p) if name else None
        if not load and path:
            load = path.replace("\\", "/")
            load = load if load.lower().startswith("assets/") else "Assets/" + load
        if not load:
            return error("Either 'name'/'path' or 'buildIndex' must be provided for 'load' action.")
        if not (self.project_dir / load).is_file():
            return error(f"Scene file not found at '{load}'.")
        with self._lock:
            self.scene = load
            self._sequence += 1
        return success(
            f"Scene '{load}' loaded successfully.", {"path": load, "name": Path(load).stem}
        )

    def manage_camera(self, params: dict[str, Any]) -> dict[str, Any]:
        """ManageCamera without Cinemachine: ping and screenshot."""
        action = (text_param(params, "action") or "").lower()
        if not action:
            return error("'action' parameter is required.")
        if action == "ping":
            message = "Cinemachine not installed. Basic Camera operations available."
            return {
                "success": True,
                "message": message,
                "data": {"cinemachine": False, "version": None},
            }
        if action in ("screenshot", "screenshot_multiview"):
            return self.screenshot(params)
        return error(f"Unity Editor stand-in: manage_camera action '{action}' is not modelled.")

    def screenshot(self, params: dict[str, Any]) -> dict[str, Any]:
        """ManageScene.CaptureScreenshot, game view."""
        source = (text_param(params, "capture_source") or "game_view").strip().lower()
        if source not in ("game_view", "scene_view"):
            return error(
                f"Invalid capture_source '{source}'. Valid values: 'game_view', 'scene_view'."
            )
        if (
            source == "scene_view"
            or params.get("batch")
            or params.get("viewTarget")
            or params.get("viewPosition")
        ):
            return error(
                "Unity Editor stand-in: scene view, batch and positioned captures are not modelled."
            )
        camera_ref = params.get("camera")
        include_image = bool_param(params, "includeImage")
        with self._lock:
            view = shots.GameView(self.game_view, self.scene, tuple(self.cameras))
        camera = None
        if camera_ref:
            camera = next((c for c in view.cameras if c == str(camera_ref).strip("/")), None)
            if camera is None:
                return error(
                    f"Camera '{camera_ref}' not found. Provide a Camera GameObject name, path, or instance ID."
                )
        elif include_image:
            if not view.cameras:
                return error(
                    "No camera found in the scene. Add a Camera to use screenshot with include_image outside of Play mode."
                )
            camera = view.cameras[0]
        size = param(params, "superSize")
        try:
            data = shots.capture(
                self.project_dir,
                view,
                camera,
                name=text_param(params, "fileName"),
                super_size=int(size) if size is not None and int(size) > 0 else 1,
                include_image=include_image,
                max_resolution=int(param(params, "maxResolution") or 0),
                folder=text_param(params, "outputFolder"),
            )
        except shots.CaptureRefused as exc:
            return error(
                str(exc)
                if camera is None or not camera_ref
                else f"Error capturing screenshot: {exc}"
            )
        if camera is None:
            return success(f"Screenshot requested to '{data['path']}'.", data)
        return success(f"Screenshot captured to '{data['path']}' (camera: {camera}).", data)
