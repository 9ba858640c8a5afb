"""NATS for the event tests: a private JetStream server that tests may stop, and a subscriber."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import nats

from tests.support.services import free_port, listening


class NatsServer:
    """A nats-server with JetStream on its own port and store, stoppable mid-test."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.store = workdir / "nats-store"
        self.proc: subprocess.Popen[bytes] | None = None
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.argv = [binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)]

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (or restart, keeping the store) and wait until it accepts connections."""
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not listening(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("nats-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (as an outage would)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Subscriber:
    """An independent nats-py subscriber collecting (subject, data) in arrival order."""

    def __init__(self, url: str, subject: str) -> None:
        self.url, self.subject = url, subject
        self.messages: list[tuple[str, bytes]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._nc: Any = None

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._subscribe(), self._loop).result(5)

    async def _subscribe(self) -> None:
        self._nc = await nats.connect(self.url)

        async def collect(msg: Any) -> None:
            self.messages.append((msg.subject, msg.data))

        await self._nc.subscribe(self.subject, cb=collect)
        await self._nc.flush()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._nc.close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
