"""The unity-mcp stand-in as a process on 127.0.0.1, driven from a test.

    standin = UnityMcpStandIn(free_port(), api_key="k").start()
    standin.set_mode("reloading", tool="manage_camera", times=2)
    ...  # point an Editor at standin.url
    assert len(standin.calls("manage_camera")) == 3
    standin.stop()

`python -m tests.support.unity_mcp --port P [--api-key K] --log FILE [--project DIR]` runs the
server (tests/support/unity_mcp_server.py) on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


class UnityMcpStandIn:
    """A unity-mcp stand-in subprocess: its URL, call log, project folder and modes."""

    def __init__(self, port: int, api_key: str | None = None, project: Path | None = None) -> None:
        self.port, self.api_key = port, api_key
        self._tmp = tempfile.TemporaryDirectory(prefix="unity-mcp-")
        self.project = project or Path(self._tmp.name) / "project"
        self.log = Path(self._tmp.name) / "calls.jsonl"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The streamable-HTTP endpoint, as SPARK_UNITY_MCP_URL would name it."""
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self, timeout: float = 20.0) -> UnityMcpStandIn:
        """Start the process and wait until it answers."""
        argv = [sys.executable, "-m", "tests.support.unity_mcp", "--port", str(self.port)]
        argv += ["--log", str(self.log), "--project", str(self.project)]
        if self.api_key:
            argv += ["--api-key", self.api_key]
        self.log.touch()
        self._process = subprocess.Popen(argv, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the unity-mcp stand-in exited with {self._process.returncode}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/control", timeout=1.0)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the unity-mcp stand-in did not start")

    def stop(self) -> None:
        """Stop the process (the project folder and log stay readable until cleanup)."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def cleanup(self) -> None:
        """Stop, and remove the log and the default project folder."""
        self.stop()
        self._tmp.cleanup()

    def __enter__(self) -> UnityMcpStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def requests(self) -> list[dict[str, Any]]:
        """Every MCP HTTP request received, oldest first (initialize, ping, tools/call…)."""
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def calls(self, tool: str | None = None) -> list[dict[str, Any]]:
        """The tools/call requests received (of one tool, when named)."""
        return [
            r
            for r in self.requests()
            if r.get("method") == "tools/call" and (tool is None or r.get("tool") == tool)
        ]

    def set_mode(
        self,
        mode: str,
        *,
        tool: str = "*",
        times: int | None = None,
        delay: float = 5.0,
        poll_interval: float = 0.1,
    ) -> None:
        """How tool (every tool: "*") answers: ok, reloading, pending, slow (delay s) or
        error, for `times` calls and then ok again (None: until told otherwise)."""
        body = {"tool": tool, "mode": mode, "times": times, "delay": delay}
        body["poll_interval"] = poll_interval
        httpx.post(f"http://127.0.0.1:{self.port}/control", json=body, timeout=5.0)

    def file(self, path: str) -> bytes | None:
        """The editor project's file at path (`Assets/…`), or None."""
        target = self.project / path
        return target.read_bytes() if target.is_file() else None

    def put(self, path: str, content: bytes) -> None:
        """Write a file into the editor's project, as someone working in Unity would."""
        target = self.project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


if __name__ == "__main__":
    from tests.support.unity_mcp_server import main

    main()
