"""NATS for the event tests: emptying the events stream, a private JetStream server, and a
subscriber."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nats
from nats.js.errors import NotFoundError

from spark.embedded.stack import nats_binary
from spark.events.envelope import STREAM
from tests.support.services import free_port, listening


def purge_stream(url: str) -> None:
    """Drop every message of SPARK's events stream (if it exists yet) on the NATS at url."""

    async def purge() -> None:
        nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
        try:
            await nc.jetstream().purge_stream(STREAM)
        except NotFoundError:
            pass
        finally:
            await nc.close()

    # in a thread of its own: the browser tier's Playwright keeps an event loop running in
    # the tests' thread, where asyncio.run refuses to start another
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, purge()).result()


class NatsServer:
    """A nats-server (the wheel's) with JetStream on its own port and store, stoppable
    mid-test, for tests that need a stream no other test writes to."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.store = workdir / "nats-store"
        self.proc: subprocess.Popen[bytes] | None = None
        self.argv = [str(nats_binary()), "-a", "127.0.0.1", "-p", str(self.port), "-js"]
        self.argv += ["-sd", str(self.store)]

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
