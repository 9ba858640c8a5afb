"""A Unity Editor stand-in for unity-mcp's real server: the plugin side of its WebSocket hub
(`/hub/plugin`) over a real project folder, for synchronous tests.

    editor = EditorStandIn(server.hub_url, project_dir, project_name="SparkGame")
    editor.start()                       # back once the server lists SparkGame@a1b2c3d4
    editor.compile_seconds = 35.0        # every script write is followed by a 35 s compile
    editor.reload_on("manage_camera", down_s=1.5)   # that call is cut by a domain reload
    ...                                  # an MCP client calls the server's tools
    editor.calls                         # [(monotonic time, command, params), ...]
    editor.stop()

Written from the server's transport/plugin_hub.py and transport/models.py and the C# plugin's
WebSocketTransportClient.cs: connect (X-API-Key when given), receive `welcome`, send `register
{project_name, project_hash, unity_version, project_path}`, receive `registered {session_id}`,
send `register_tools` with the tools the plugin registers (all its built-in tools, enabled by
default: the server then enables their groups), answer `ping` with `pong {session_id}` and send
a pong every keep-alive interval, and answer `execute {id, name, params, timeout}` with
`command_result {id, result}`, one command at a time as the plugin's receive loop does.
`result` is the dispatcher's envelope: `{status: "success", result: <the tool's response>}` (a
tool's own failure is a response with `success: false` inside a success envelope), or
`{status: "error", error, ...}` for an unknown command, a handler that threw, or a timeout.
The commands themselves, and the editor's state, are in editor_commands.py.

A reload drops the socket without a close handshake (the plugin's ForceStop before a domain
reload) and registers again, with a new session id, after the time asked; a connection lost
otherwise is retried on the plugin's schedule (0, 1, 3, 5, 10, 30 s, then every 30 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.editor_commands import UNITY_VERSION, EditorCommands

log = logging.getLogger(__name__)

#: WebSocketTransportClient.ReconnectSchedule, then every 30 s
RECONNECT_S = (0.0, 1.0, 3.0, 5.0, 10.0, 30.0)
#: the plugin's built-in tools ([McpForUnityTool]): name, group, polling, max poll seconds
BUILTIN_TOOLS = (
    *((n, "core", False, 0) for n in (
        "batch_execute", "execute_menu_item", "find_gameobjects", "manage_asset",
        "manage_camera", "manage_components", "manage_editor", "manage_gameobject",
        "manage_graphics", "manage_material", "manage_physics", "manage_prefabs",
        "manage_scene", "manage_script", "read_console", "refresh_unity",
    )),
    ("manage_build", "core", True, 1800),
    ("manage_packages", "core", True, 0),
    ("manage_animation", "animation", False, 0),
    ("generate_audio", "asset_gen", True, 600),
    ("generate_image", "asset_gen", True, 300),
    ("generate_model", "asset_gen", True, 300),
    ("import_model", "asset_gen", True, 300),
    ("import_model_file", "asset_gen", False, 0),
    ("execute_code", "scripting_ext", False, 0),
    ("manage_scriptable_object", "scripting_ext", False, 0),
    ("get_test_job", "testing", False, 0),
    ("run_tests", "testing", False, 0),
    ("manage_shader", "vfx", False, 0),
    ("manage_texture", "vfx", False, 0),
    ("manage_vfx", "vfx", False, 0),
    ("manage_ui", "ui", False, 0),
    ("manage_probuilder", "probuilder", False, 0),
    ("manage_profiler", "profiling", False, 0),
    ("unity_reflect", "docs", False, 0),
)  # fmt: skip


def tool_definitions() -> list[dict[str, Any]]:
    """register_tools' list, as SendRegisterToolsAsync builds it."""
    return [
        {
            "name": name,
            "description": f"Tool: {name}",
            "structured_output": True,
            "requires_polling": polling,
            "poll_action": "status",
            "max_poll_seconds": max_poll,
            "group": group,
            "parameters": [],
        }
        for name, group, polling, max_poll in BUILTIN_TOOLS
    ]


class EditorStandIn(EditorCommands):
    """One Unity Editor with the unity-mcp plugin, connected to a server's hub."""

    def __init__(
        self,
        hub_url: str,
        project_dir: Path | str,
        project_name: str = "SparkGame",
        project_hash: str = "a1b2c3d4",
        api_key: str | None = None,
        game_view: tuple[int, int] = (1920, 1080),
        unity_version: str = UNITY_VERSION,
    ) -> None:
        super().__init__(project_dir, game_view, unity_version)
        self.hub_url, self.api_key = hub_url, api_key
        self.project_name, self.project_hash = project_name, project_hash
        self.session_id: str | None = None
        self.registrations = 0
        self.last_error: str | None = None
        self._calls: list[tuple[float, str, dict[str, Any]]] = []
        self._reload_on: dict[str, tuple[float, bool]] = {}
        self._down_s: float | None = None
        self._stopping = False
        self._registered = threading.Event()
        self._ws: ClientConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None

    # -- control, from the test's thread --------------------------------------------------

    @property
    def instance_id(self) -> str:
        return f"{self.project_name}@{self.project_hash}"

    @property
    def http_url(self) -> str:
        return self.hub_url.replace("ws://", "http://", 1).split("/hub/", 1)[0]

    @property
    def calls(self) -> list[tuple[float, str, dict[str, Any]]]:
        """Every execute received, in order: (monotonic time, command, params)."""
        with self._lock:
            return copy.deepcopy(self._calls)

    def start(self, timeout: float = 15.0) -> EditorStandIn:
        """Open the editor; back once the server lists it (or, in remote-hosted mode, which
        has no /api routes, once it is registered)."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="unity-editor", daemon=True)
        self._thread.start()
        self._call(self._begin())
        self.wait_listed(timeout)
        return self

    def wait_listed(self, timeout: float = 15.0) -> None:
        """Wait until this editor is registered and the server lists it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._registered.is_set() and self.listed() is not False:
                return
            time.sleep(0.05)
        raise TimeoutError(f"{self.instance_id} did not register: {self.last_error}")

    def listed(self) -> bool | None:
        """Whether GET /api/instances lists this editor (None without /api routes)."""
        try:
            answer = httpx.get(f"{self.http_url}/api/instances", timeout=2.0)
        except httpx.TransportError:
            return False
        if answer.status_code == 404:
            return None
        instances = answer.json().get("instances", [])
        return any(i.get("hash") == self.project_hash for i in instances)

    def reload(self, down_s: float = 1.5) -> None:
        """A domain reload: the socket is dropped now, the editor registers again after down_s."""
        self._call(self._drop(down_s))

    def reload_on(self, command: str, down_s: float = 1.5, *, after_running: bool = False) -> None:
        """The next time `command` (or `command:action`) arrives, drop the socket without
        answering it (the reload it set off), and come back after down_s. after_running: the
        command runs first (a script write lands, its answer is lost), as when the reload
        follows the write."""
        with self._lock:
            self._reload_on[command] = (down_s, after_running)

    def stop(self) -> None:
        """Close the editor: disconnect, no re-register."""
        if self._loop is None:
            return
        self._stopping = True
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop.close()
        self._loop = None

    # -- the connection, on the editor's loop ---------------------------------------------

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _begin(self) -> None:
        self._task = asyncio.create_task(self._lifecycle())

    async def _drop(self, down_s: float) -> None:
        self._down_s = down_s
        if self._ws is not None:
            self._ws.transport.abort()  # ForceStop: no close handshake
            await self._ws.wait_closed()

    async def _close(self) -> None:
        self._stopping = True
        if self._ws is not None:
            await self._ws.close(1000, "Shutdown")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _lifecycle(self) -> None:
        attempt = 0
        while not self._stopping:
            try:
                await self._connection()
                attempt = 0
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.info("unity editor %s: %s", self.instance_id, self.last_error)
            if self._stopping:
                return
            delay = self._down_s if self._down_s is not None else RECONNECT_S[min(attempt, 5)]
            self._down_s, attempt = None, attempt + 1
            await asyncio.sleep(delay)

    async def _connection(self) -> None:
        headers = {"X-API-Key": self.api_key} if self.api_key else None
        async with websockets.connect(
            self.hub_url,
            additional_headers=headers,
            max_size=None,
            ping_interval=None,
            close_timeout=2,
        ) as ws:
            self._ws = ws
            keep_alive: asyncio.Task[None] | None = None
            try:
                await self._send(ws, self._register_message())
                async for raw in ws:
                    message = json.loads(raw)
                    if message.get("type") == "welcome":
                        interval = float(message.get("keepAliveInterval") or 15)
                        keep_alive = asyncio.create_task(self._keep_alive(ws, interval))
                    await self._on_message(ws, message)
            finally:
                if keep_alive is not None:
                    keep_alive.cancel()
                self._ws, self.session_id = None, None
                self._registered.clear()

    def _register_message(self) -> dict[str, Any]:
        return {
            "type": "register",
            "project_name": self.project_name,
            "project_hash": self.project_hash,
            "unity_version": self.unity_version,
            "project_path": str(self.project_dir),
        }

    async def _keep_alive(self, ws: ClientConnection, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self._send(ws, {"type": "pong", "session_id": self.session_id})

    async def _send(self, ws: ClientConnection, payload: dict[str, Any]) -> None:
        await ws.send(json.dumps(payload))

    async def _on_message(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "registered" and message.get("session_id"):
            self.session_id = str(message["session_id"])
            await self._send(ws, {"type": "register_tools", "tools": tool_definitions()})
            self.registrations += 1
            self._registered.set()
        elif kind == "ping":
            await self._send(ws, {"type": "pong", "session_id": self.session_id})
        elif kind == "execute":
            await self._execute(ws, message)

    async def _execute(self, ws: ClientConnection, message: dict[str, Any]) -> None:
        command_id, name = message.get("id"), message.get("name")
        params = message.get("params") or {}
        if not command_id or not name:
            return
        with self._lock:
            self._calls.append((time.monotonic(), str(name), copy.deepcopy(params)))
            # `command` or `command:action` (a script write is manage_script:apply_text_edits)
            action = f"{name}:{params.get('action')}" if isinstance(params, dict) else ""
            reload = self._reload_on.pop(action, None) or self._reload_on.pop(str(name), None)
        if reload is not None:
            if reload[1]:
                await self.dispatch(str(name), params)
            await self._drop(reload[0])
            return
        timeout = max(1, round(float(message.get("timeout") or 30)))
        try:
            result = await asyncio.wait_for(self.dispatch(str(name), params), timeout)
        except TimeoutError:
            result = {
                "status": "error",
                "error": f"Command '{name}' timed out after {timeout} seconds",
            }
        await self._send(ws, {"type": "command_result", "id": command_id, "result": result})
