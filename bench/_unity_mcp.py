"""The unity-mcp stand-in for the previews benchmark, and the bridge's time around it.

The stand-in lives with the tests (tests/support/unity_mcp.py); the benchmark runs from a
source checkout, so it is imported from there by name rather than shipped with `bench`.
"""

from __future__ import annotations

import base64
import importlib
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench._procs import free_port
from spark.config import Settings
from spark.engines.unity.bridge import Editor
from spark.engines.unity.mcp_bridge import make_editor_bridge
from spark.kv.memory import MemoryBreakerStore

ROOT = Path(__file__).resolve().parents[1]
#: the stand-in's game view is this wide; at max_resolution 640 it sends 640x360
SCREENSHOT_MAX = 640


def _support(module: str) -> ModuleType:
    """tests.support.<module> from the checkout this benchmark belongs to."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module(f"tests.support.{module}")


class StandIn:
    """The stand-in subprocess on a free port (its log and project in a temp folder)."""

    def __init__(self, workdir: Path) -> None:
        self._standin: Any = _support("unity_mcp").UnityMcpStandIn(free_port())
        self.workdir = workdir

    @property
    def url(self) -> str:
        return str(self._standin.url)

    def start(self) -> None:
        self._standin.start()

    def stop(self) -> None:
        self._standin.cleanup()

    def screenshots(self) -> int:
        """How many screenshots it was asked for."""
        return len(self._standin.calls("manage_camera"))


def bridge_overheads(editor: StandIn, count: int, warmup: int) -> tuple[list[float], list[float]]:
    """(b) count screenshots through McpBridge one at a time, each paired with the stand-in's
    own work for that call (rendering and encoding the same frame), in milliseconds."""
    bridge = make_editor_bridge(Settings(), MemoryBreakerStore())
    render = _support("unity_mcp_server").render
    target = Editor(editor.url)
    totals: list[float] = []
    own: list[float] = []
    for n in range(warmup + count):
        start = time.perf_counter()
        shot = bridge.screenshot(target, max_resolution=SCREENSHOT_MAX)
        total = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        png = render(shot.width, shot.height, "Assets/Scenes/SampleScene.unity|Main Camera")
        base64.b64encode(png)
        mine = (time.perf_counter() - start) * 1000
        if n >= warmup:
            totals.append(total)
            own.append(mine)
    return totals, own
