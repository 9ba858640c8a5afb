"""Build-farm test helpers: a builds-only worker, waiting on the process table, a webhook
receiver, record files."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from fakes.unity import processes_mentioning, write_launcher
from spark.config import Settings
from tests.support.workers import WorkerProcess


def builds_only_worker(settings: Settings, workdir: Path, **env: str) -> WorkerProcess:
    """A worker on `builds` only, one build at a time, the Unity stand-in as its editor and
    its workspaces under workdir (not started)."""
    return WorkerProcess(
        settings,
        workdir,
        queues="builds",
        concurrency=1,
        SPARK_UNITY_PATH=str(write_launcher(workdir / "unity")),
        SPARK_WORKSPACE_DIR=str(workdir / "workspaces"),
        **env,
    )


def wait_no_processes(text: str, timeout: float = 10.0) -> list[int]:
    """Wait until no process mentions text; the ones still there at the timeout."""
    deadline = time.monotonic() + timeout
    while (left := processes_mentioning(text)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@dataclass(frozen=True)
class Received:
    """One request a receiver got; headers look up case-insensitively."""

    path: str
    headers: Message
    body: bytes


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers with the statuses in
    `answers` (status, extra headers), then 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[tuple[int, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received.append(Received(self.path, self.headers, body))
                status, extra = receiver.answers.pop(0) if receiver.answers else (200, {})
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        # Port 0: the OS picks a free port atomically, so no other test can take it first.
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/build"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
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
