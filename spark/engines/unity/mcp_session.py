"""MCP client sessions on the `mcp` SDK, for synchronous callers (prefork workers, the API's
health thread): one asyncio loop in a background thread per process, one session per URL.

The SDK's transport lives inside anyio task groups, which must be entered and left by the
same task; so each session is held open by its own task on the loop, and calls from other
tasks only send and receive on it. A failed call closes the session; the next one re-opens it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

log = logging.getLogger(__name__)

T = TypeVar("T")


class Loop:
    """An asyncio loop in a daemon thread, re-made in a forked child (threads do not fork)."""

    def __init__(self) -> None:
        self._pid = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="spark-mcp-loop", daemon=True
                )
                thread.start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run coro on the loop and wait for it; TimeoutError after timeout seconds."""
        future = asyncio.run_coroutine_threadsafe(coro, self._ensure())
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise


@dataclass
class _Held:
    """One open session and the event that lets its holding task close it."""

    session: ClientSession
    closing: asyncio.Event
    task: asyncio.Task[None] | None = field(default=None)


class Sessions:
    """Initialized MCP sessions, one per URL, opened on first use (on the loop only)."""

    def __init__(self, connect_timeout_s: float) -> None:
        self._timeout = connect_timeout_s
        self._held: dict[str, _Held] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, url: str, headers: dict[str, str]) -> ClientSession:
        """The open session for url, opening one if there is none."""
        lock = self._locks.setdefault(url, asyncio.Lock())
        async with lock:
            held = self._held.get(url)
            if held is None or held.task is None or held.task.done():
                held = await self.open(url, headers)
                self._held[url] = held
            return held.session

    async def open(self, url: str, headers: dict[str, str]) -> _Held:
        """A new initialized session, held open by its own task until closed."""
        ready: asyncio.Future[_Held] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._hold(url, headers, ready))
        try:
            held = await asyncio.wait_for(asyncio.shield(ready), self._timeout)
        except BaseException:
            task.cancel()
            raise
        held.task = task
        return held

    async def _hold(self, url: str, headers: dict[str, str], ready: asyncio.Future[_Held]) -> None:
        timeout = httpx2.Timeout(self._timeout, read=None)
        try:
            async with (
                httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
                streamable_http_client(url, http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                held = _Held(session, asyncio.Event())
                ready.set_result(held)
                await held.closing.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else ConnectionError(url))
            if not isinstance(exc, Exception):
                raise

    async def discard(self, url: str) -> None:
        """Close url's session (after a failure), so the next call opens a fresh one."""
        held = self._held.pop(url, None)
        if held is not None:
            await close(held)


async def close(held: _Held) -> None:
    """Let the holding task leave its contexts; cancel it if that takes too long."""
    held.closing.set()
    if held.task is not None:
        try:
            await asyncio.wait_for(held.task, 2.0)
        except (TimeoutError, Exception) as exc:
            log.debug("closing an MCP session: %s", type(exc).__name__)


async def round_trip(
    sessions: Sessions,
    url: str,
    headers: dict[str, str],
    then: Callable[[ClientSession], Awaitable[T]],
) -> T:
    """Open a new session to url, call then(session), and close it (health probes)."""
    held = await sessions.open(url, headers)
    try:
        return await then(held.session)
    finally:
        await close(held)
