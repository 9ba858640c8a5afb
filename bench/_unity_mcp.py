"""unity-mcp's real server with a stand-in Unity Editor, for the previews benchmark, and the
bridge's time around the editor's own work.

The server is unity-mcp's own (PyPI mcpforunityserver, in its venv `.venv/unity-mcp`); only
the Unity Editor is stood in, by the plugin side of the server's WebSocket hub over a project
folder. Both live with the tests (tests/support/unity_mcp_real.py, unity_editor.py); the
benchmark runs from a source checkout, so they are imported from there by name rather than
shipped with `bench`.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench._procs import free_port
from spark.config import Settings
from spark.engines.unity.bridge import Editor
from spark.engines.unity.mcp_bridge import make_editor_bridge
from spark.engines.unity.mcp_editor import CAPTURE_FOLDER
from spark.kv.leases import RedisLeases
from spark.kv.redis_store import RedisBreakerStore

ROOT = Path(__file__).resolve().parents[1]
#: unity-mcp's server, as `make .venv/unity-mcp/.installed` installs it
SERVER_SCRIPT = ROOT / ".venv" / "unity-mcp" / "bin" / "mcp-for-unity"
#: the stand-in's game view is 1920x1080; a 640x360 preview is its capture, sent downscaled
SCREENSHOT = (640, 360)


def _support(module: str) -> ModuleType:
    """tests.support.<module> from the checkout this benchmark belongs to."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"tests.support.{module}")


def require_server() -> None:
    """Fail before anything starts when unity-mcp's server is not installed."""
    if not SERVER_SCRIPT.exists():
        raise SystemExit(
            f"bench_previews runs unity-mcp's real server, which is not installed at "
            f"{SERVER_SCRIPT.parent.parent}: run `make .venv/unity-mcp/.installed` first"
        )


class StandIn:
    """unity-mcp's server on a free 127.0.0.1 port (its home and log in a temp folder) and one
    stand-in Unity Editor connected to it, its project in workdir/unity."""

    def __init__(self, workdir: Path) -> None:
        require_server()
        self._server: Any = _support("unity_mcp_real").UnityMcpServer(free_port())
        self._editor: Any = None
        self.project_dir = workdir / "unity"

    @property
    def url(self) -> str:
        """The server's MCP endpoint, as SPARK_UNITY_MCP_URL names it."""
        return str(self._server.url)

    @property
    def instance_id(self) -> str:
        return str(self._editor.instance_id)

    def start(self) -> None:
        self._server.start()
        editor = _support("unity_editor").EditorStandIn(
            self._server.hub_url, self.project_dir, project_name="BenchGame"
        )
        editor.start()
        self._editor = editor

    def stop(self) -> None:
        try:
            if self._editor is not None:
                self._editor.stop()
        finally:
            self._server.cleanup()

    def captures(self) -> list[dict[str, Any]]:
        """The parameters of every screenshot the editor was asked for, in order."""
        return [
            params
            for _, command, params in self._editor.calls
            if command == "manage_camera" and params.get("action") == "screenshot"
        ]

    def capture(self, params: dict[str, Any]) -> None:
        """The editor's own work for one screenshot command: the handler the stand-in runs
        for manage_camera (render the game view, PNG-encode and write the whole capture,
        downscale, encode and base64 the inline image), without the hub around it."""
        answer = self._editor.manage_camera(params)
        if not answer.get("success"):
            raise RuntimeError(f"the stand-in's capture failed: {answer}")

    def clear_captures(self) -> None:
        """Remove the captures written so far (they stay out of Assets/, in Temp/)."""
        shutil.rmtree(self.project_dir / CAPTURE_FOLDER, ignore_errors=True)


def bridge_overheads(
    editor: StandIn, count: int, warmup: int, redis_url: str
) -> tuple[list[float], list[float]]:
    """(b) count screenshots through McpBridge one at a time, each as a worker takes one (attach
    to the instance, screenshot 640x360, its breaker and lease in Redis at redis_url), and each
    paired with the editor's own work for that command (its handler run again, directly, on
    the parameters it received), in ms."""
    store, leases = RedisBreakerStore(redis_url), RedisLeases(redis_url)
    bridge = make_editor_bridge(Settings(), store, leases)
    target = Editor(editor.url)
    width, height = SCREENSHOT
    totals: list[float] = []
    own: list[float] = []
    for n in range(warmup + count):
        before = len(editor.captures())
        start = time.perf_counter()
        with bridge.attach(target) as session:
            shot = session.screenshot(width=width, height=height)
        total = (time.perf_counter() - start) * 1000
        if (shot.width, shot.height) != SCREENSHOT:
            raise RuntimeError(f"the editor sent {shot.width}x{shot.height}, not 640x360")
        received = editor.captures()[before:]
        if len(received) != 1:
            raise RuntimeError(f"one screenshot made {len(received)} captures in the editor")
        start = time.perf_counter()
        editor.capture(received[0])
        mine = (time.perf_counter() - start) * 1000
        editor.clear_captures()
        if n >= warmup:
            totals.append(total)
            own.append(mine)
    return totals, own
