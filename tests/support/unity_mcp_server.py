"""A unity-mcp stand-in: the `mcp` SDK's MCPServer on streamable HTTP at /mcp, answering the
tools SPARK calls with unity-mcp's result shapes, over a project folder on disk.

Run it as a process (`python -m tests.support.unity_mcp --port P [--api-key K] --log FILE
[--project DIR]`), or from a test through `UnityMcpStandIn` (tests/support/unity_mcp.py).

Tools (unity-mcp's names and arguments; results `{success, message, data}`, failures
`{success: false, code, error}`):
- manage_camera(action="screenshot", include_image, max_resolution, camera, capture_source):
  the text result plus an ImageContent PNG of the 1920x1080 game view scaled to fit
  max_resolution on its long side (a checkerboard over a gradient tinted by scene and camera).
- manage_scene(action="load", path): the scene file must exist under the project.
- manage_script(action="read", name, path): `path` is the folder, `name` the file's stem.
- create_script(path, contents): a new `.cs` file (plain text over MCP; unity-mcp's Python
  server base64-encodes it on the way to the editor); an existing one is an error.
- apply_text_edits(uri, edits, precondition_sha256): 1-based line/column edits; a precondition
  that is not the file's sha256 answers `stale_file` with expected_sha256/current_sha256.
- refresh_unity(mode, scope, compile, wait_for_ready): "compiles": every line of a `.cs` file
  holding `#error` becomes a console error.
- read_console(action="get", types, count, format="json"): items {type, message, file, line}.

POST /control {"tool": name|"*", "mode": ok|reloading|pending|slow|error, "times": n,
"delay": s, "poll_interval": s} switches how tools answer (for `times` calls, then ok again;
no `times`: until told otherwise). Every MCP request is logged as one JSON line (method, tool,
arguments, header names, whether X-API-Key was present and accepted) before it is handled.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp_types import ImageContent, TextContent
from PIL import Image, ImageDraw
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

GAME_VIEW = (1920, 1080)
RELOADING = {"success": False, "error": "Unity is reloading; please retry", "hint": "retry"}
AUTH_REQUIRED = "API key authentication required. Provide a valid X-API-Key header."
SAMPLE_SCENE = "Assets/Scenes/SampleScene.unity"


@dataclass
class Behaviour:
    """How one tool answers for now."""

    mode: str = "ok"
    times: int | None = None
    delay: float = 5.0
    poll_interval: float = 0.1


class Editor:
    """The stand-in editor's state: its project folder, open scene, console and modes."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.scene = SAMPLE_SCENE
        self.console: list[dict[str, Any]] = []
        self.modes: dict[str, Behaviour] = {}
        scene = project / SAMPLE_SCENE
        if not scene.exists():
            scene.parent.mkdir(parents=True, exist_ok=True)
            scene.write_text("%YAML 1.1\n%TAG !u! tag:unity3d.com,2011:\n")

    def file(self, path: str) -> Path:
        if not path.startswith("Assets/") or ".." in path.split("/"):
            raise ValueError(path)
        return self.project / path

    async def intercept(self, tool: str) -> dict[str, Any] | None:
        """The answer the current mode gives instead of the tool's, if any."""
        behaviour = self.modes.get(tool) or self.modes.get("*")
        if behaviour is None or behaviour.mode == "ok":
            return None
        if behaviour.times is not None:
            behaviour.times -= 1
            if behaviour.times <= 0:
                self.modes = {k: v for k, v in self.modes.items() if v is not behaviour}
        if behaviour.mode == "slow":
            await asyncio.sleep(behaviour.delay)
            return None
        if behaviour.mode == "reloading":
            return dict(RELOADING)
        if behaviour.mode == "pending":
            return {
                "success": True,
                "_mcp_status": "pending",
                "_mcp_poll_interval": behaviour.poll_interval,
                "message": f"{tool} is still running",
                "data": {},
            }
        return {"success": False, "code": "internal_error", "error": f"{tool} failed"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fail(code: str, error: str, data: Any = None) -> dict[str, Any]:
    failure: dict[str, Any] = {"success": False, "code": code, "error": error}
    if data is not None:
        failure["data"] = data
    return failure


def render(width: int, height: int, seed: str) -> bytes:
    """A PNG: a gradient tinted by seed, under a checkerboard of 8x8 squares."""
    tint = zlib.crc32(seed.encode()) & 0xFFFFFF
    r, g, b = tint >> 16, (tint >> 8) & 0xFF, tint & 0xFF
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for x in range(width):
        shade = x * 255 // max(1, width - 1)
        draw.line([(x, 0), (x, height)], fill=((r + shade) // 2, (g + shade) // 2, b))
    cell = max(1, min(width, height) // 8)
    for cy in range(0, height, cell):
        for cx in range((cy // cell) % 2 * cell, width, 2 * cell):
            draw.rectangle([cx, cy, cx + cell - 1, cy + cell - 1], fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def fit(size: tuple[int, int], max_resolution: int) -> tuple[int, int]:
    """size scaled down (never up) so its long side is at most max_resolution."""
    scale = min(1.0, max_resolution / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _offset(text: str, line: int, col: int) -> int:
    lines = text.split("\n")
    if not 1 <= line <= len(lines) or not 1 <= col <= len(lines[line - 1]) + 1:
        raise ValueError(f"position {line}:{col} is outside the file")
    return sum(len(x) + 1 for x in lines[: line - 1]) + col - 1


def _compile(editor: Editor) -> None:
    """What a refresh compiles: every `#error` line of a script is a console error."""
    editor.console = []
    for script in sorted((editor.project / "Assets").rglob("*.cs")):
        rel = script.relative_to(editor.project).as_posix()
        for number, text in enumerate(script.read_text().split("\n"), start=1):
            if "#error" in text:
                message = f"{rel}({number},1): error CS1029: {text.strip()}"
                editor.console.append(
                    {"type": "error", "message": message, "file": rel, "line": number}
                )


class UnityTools(Editor):
    """unity-mcp's tools over the stand-in editor (each method is one MCP tool)."""

    NAMES = (
        "manage_camera",
        "manage_scene",
        "manage_script",
        "create_script",
        "apply_text_edits",
        "refresh_unity",
        "read_console",
    )

    async def manage_camera(
        self,
        action: str,
        include_image: bool = False,
        max_resolution: int = 640,
        camera: str | None = None,
        capture_source: str = "game_view",
        screenshot_file_name: str | None = None,
    ) -> list[TextContent | ImageContent] | dict[str, Any]:
        """Screenshots of the game or scene view."""
        if (held := await self.intercept("manage_camera")) is not None:
            return held
        if action != "screenshot":
            return _fail("unknown_action", f"Unknown action: '{action}'")
        width, height = fit(GAME_VIEW, max_resolution)
        name = screenshot_file_name or "screenshot.png"
        data = {
            "path": f"Assets/Screenshots/{name}",
            "fullPath": str(self.project / "Assets/Screenshots" / name),
            "superSize": 1,
            "isAsync": False,
            "camera": camera or "Main Camera",
            "captureSource": capture_source,
            "imageWidth": width,
            "imageHeight": height,
        }
        text = {"success": True, "message": f"Screenshot captured ({width}x{height})", "data": data}
        parts: list[TextContent | ImageContent] = [TextContent(text=json.dumps(text))]
        if include_image:
            png = render(width, height, f"{self.scene}|{data['camera']}")
            encoded = base64.b64encode(png).decode()
            parts.append(ImageContent(data=encoded, mime_type="image/png"))
        return parts

    async def manage_scene(self, action: str, path: str | None = None) -> dict[str, Any]:
        """Loading scenes."""
        if (held := await self.intercept("manage_scene")) is not None:
            return held
        if action != "load" or not path:
            return _fail("unknown_action", f"Unknown action: '{action}'")
        if not self.file(path).is_file():
            return _fail("not_found", f"Scene file not found at '{path}'")
        self.scene = path
        return {"success": True, "message": f"Scene '{path}' loaded", "data": {"path": path}}

    async def manage_script(
        self, action: str, name: str, path: str = "Assets/", contents: str | None = None
    ) -> dict[str, Any]:
        """Reading scripts (the folder is `path`, the file `name`.cs)."""
        if (held := await self.intercept("manage_script")) is not None:
            return held
        rel = f"{path.rstrip('/')}/{name}.cs"
        if action != "read":
            return _fail("unknown_action", f"Unknown action: '{action}'")
        target = self.file(rel)
        if not target.is_file():
            return _fail("not_found", f"Script not found at '{rel}'")
        text = target.read_bytes()
        data = {
            "uri": f"mcpforunity://path/{rel}",
            "path": rel,
            "contents": text.decode(),
            "contentsEncoded": False,
            "sha256": _sha(text),
        }
        return {"success": True, "message": f"Script '{name}.cs' read", "data": data}

    async def create_script(self, path: str, contents: str) -> dict[str, Any]:
        """Creating a new C# script."""
        if (held := await self.intercept("create_script")) is not None:
            return held
        if not path.endswith(".cs"):
            return _fail("bad_extension", "Script file must end with .cs")
        target = self.file(path)
        if target.exists():
            return _fail("already_exists", f"Script already exists at '{path}'. Use 'update'.")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(contents.encode())
        data = {"uri": f"mcpforunity://path/{path}", "scheduledRefresh": False}
        return {"success": True, "message": f"Script created at '{path}'", "data": data}

    async def apply_text_edits(
        self, uri: str, edits: list[dict[str, Any]], precondition_sha256: str | None = None
    ) -> dict[str, Any]:
        """Editing a script, only if it is still the version the caller read."""
        if (held := await self.intercept("apply_text_edits")) is not None:
            return held
        rel = uri.removeprefix("mcpforunity://path/")
        target = self.file(rel)
        if not target.is_file():
            return _fail("not_found", f"Script not found at '{rel}'")
        if precondition_sha256 is None:
            return _fail("precondition_required", "precondition_sha256 is required")
        current = target.read_bytes()
        if precondition_sha256 != _sha(current):
            stale = {"expected_sha256": precondition_sha256, "current_sha256": _sha(current)}
            return _fail("stale_file", "File changed since it was read", stale)
        text = current.decode()
        spans = [
            (
                _offset(text, e["startLine"], e["startCol"]),
                _offset(text, e["endLine"], e["endCol"]),
                e["newText"],
            )
            for e in edits
        ]
        for start, end, new in sorted(spans, reverse=True):
            text = text[:start] + new + text[end:]
        target.write_bytes(text.encode())
        data = {
            "uri": uri,
            "path": rel,
            "editsApplied": len(edits),
            "sha256": _sha(text.encode()),
            "scheduledRefresh": False,
        }
        return {"success": True, "message": f"Applied {len(edits)} edit(s)", "data": data}

    async def refresh_unity(
        self,
        mode: str = "if_dirty",
        scope: str = "all",
        compile: str = "none",
        wait_for_ready: bool = True,
    ) -> dict[str, Any]:
        """Importing assets and compiling scripts."""
        if (held := await self.intercept("refresh_unity")) is not None:
            return held
        _compile(self)
        return {"success": True, "message": "Refresh completed", "data": {"scope": scope}}

    async def read_console(
        self,
        action: str = "get",
        types: list[str] | None = None,
        count: int = 10,
        format: str = "detailed",
    ) -> dict[str, Any]:
        """The console's entries."""
        if (held := await self.intercept("read_console")) is not None:
            return held
        wanted = set(types or ["error", "warning", "log"])
        items = [e for e in self.console if "all" in wanted or e["type"] in wanted][:count]
        data = {"items": items, "total": len(items), "truncated": False}
        return {"success": True, "message": f"Retrieved {len(items)} entries", "data": data}


def build_server(editor: UnityTools) -> MCPServer:
    """The MCP server with unity-mcp's tools over editor."""
    server = MCPServer("mcp-for-unity-server", log_level="WARNING")
    for name in UnityTools.NAMES:
        server.tool()(getattr(editor, name))
    return server


class Gate:
    """Plain ASGI in front of /mcp: logs every request, then wants X-API-Key if set."""

    def __init__(self, app: ASGIApp, api_key: str | None, log: Path) -> None:
        self.app, self.api_key, self.log = app, api_key, log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/mcp"):
            await self.app(scope, receive, send)
            return
        body, messages = await _drain(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        presented = headers.get("x-api-key")
        allowed = self.api_key is None or presented == self.api_key
        self._record(scope["method"], body, headers, presented is not None, allowed)
        if not allowed:
            await JSONResponse({"error": AUTH_REQUIRED}, status_code=401)(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    def _record(
        self, verb: str, body: bytes, headers: dict[str, str], key: bool, allowed: bool
    ) -> None:
        entry: dict[str, Any] = {"http": verb, "headers": sorted(headers), "x_api_key": key}
        entry["authorized"] = allowed
        try:
            message = json.loads(body) if body else {}
        except ValueError:
            message = {}
        if isinstance(message, dict):
            entry["method"] = message.get("method")
            params = message.get("params") or {}
            if message.get("method") == "tools/call":
                entry["tool"], entry["args"] = params.get("name"), params.get("arguments")
        with self.log.open("a") as out:
            out.write(json.dumps(entry) + "\n")


async def _drain(receive: Receive) -> tuple[bytes, list[Message]]:
    messages: list[Message] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        body += message.get("body", b"")
        if message["type"] != "http.request" or not message.get("more_body"):
            return body, messages


def build_app(project: Path, log: Path, api_key: str | None = None) -> ASGIApp:
    """The whole stand-in: /mcp behind the gate, and /control to switch modes."""
    editor = UnityTools(project)
    server = build_server(editor)

    @server.custom_route("/control", methods=["GET", "POST"])
    async def control(request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            behaviour = Behaviour(
                body.get("mode", "ok"),
                body.get("times"),
                float(body.get("delay", 5.0)),
                float(body.get("poll_interval", 0.1)),
            )
            tool = body.get("tool", "*")
            if tool == "*":
                editor.modes.clear()  # every tool: per-tool modes set earlier end too
            editor.modes[tool] = behaviour
        modes = {k: v.__dict__ for k, v in editor.modes.items()}
        return JSONResponse({"modes": modes, "scene": editor.scene})

    return Gate(server.streamable_http_app(streamable_http_path="/mcp"), api_key, log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-key")
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--project", type=Path)
    args = parser.parse_args()
    project = args.project or args.log.with_suffix(".project")
    app = build_app(project, args.log, args.api_key)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
