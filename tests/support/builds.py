"""Build-farm test helpers: a Unity project on disk, the process table, a webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.fake_unity import processes_mentioning
from tests.support.services import free_port


def make_unity_project(root: Path, mode: str = "success", delay_s: float = 0.02) -> Path:
    """A minimal Unity project folder; the Unity stand-in reads its mode and pace from it."""
    (root / "Assets" / "Scenes").mkdir(parents=True, exist_ok=True)
    (root / "Assets" / "Scenes" / "Main.unity").write_text("%YAML 1.1\n", encoding="utf-8")
    (root / "ProjectSettings").mkdir(exist_ok=True)
    (root / "ProjectSettings" / "ProjectVersion.txt").write_text(
        "m_EditorVersion: 2022.3.20f1\n", encoding="utf-8"
    )
    (root / ".fake-unity-mode").write_text(mode, encoding="utf-8")
    (root / ".fake-unity-delay").write_text(str(delay_s), encoding="utf-8")
    return root


def wait_no_processes(text: str, timeout: float = 10.0) -> list[int]:
    """Wait until no process mentions text; the ones still there at the timeout."""
    deadline = time.monotonic() + timeout
    while (left := processes_mentioning(text)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST (headers and body)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/build"
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[tuple[dict[str, str], bytes]]:
        """The first count deliveries, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.received) >= count, f"{len(self.received)} deliveries, wanted {count}"
        return self.received[:count]


def read_records(path: Path) -> list[dict[str, object]]:
    """The JSON lines the Unity stand-in appended to its record file."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
