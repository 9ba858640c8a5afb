"""Batching: items added from any thread written together off the hot path (Batcher), and
calls made in one turn of the event loop answered together (TurnBatcher)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    """Hands added items to `write` in batches: every interval, on flush(), and on close();
    eager, also as soon as the background thread is free after an add (what gathered while
    it was writing is the next batch)."""

    def __init__(
        self, write: Callable[[list[T]], None], interval_s: float, name: str, *, eager: bool = False
    ) -> None:
        self._write, self._interval, self._name, self._eager = write, interval_s, name, eager
        self._wake = threading.Event()
        self._pending: list[T] = []
        self._lock = threading.Lock()
        # one writer at a time, so a flush() returns only after earlier items are written
        self._writing = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, item: T) -> None:
        """Queue item; the background thread starts with the first one."""
        with self._lock:
            self._pending.append(item)
            if self._eager:
                self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def flush(self) -> None:
        """Write everything queued so far, now."""
        with self._writing:
            with self._lock:
                batch, self._pending = self._pending, []
            if batch:
                self._write(batch)

    def close(self) -> None:
        """Stop the thread and write what is left."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
        self.flush()

    def _run(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if not self._closed.is_set():
                self.flush()


Item = TypeVar("Item")
R = TypeVar("R")


class TurnBatcher(Generic[Item, R]):
    """Calls made in the same turn of the event loop, answered together by one `answer`.

    answer(items) returns one result per item, in order; an exception fails every caller of
    that batch. A lone call waits for nothing: the batch goes out as soon as the loop has run
    what was already ready. Several batches may be in flight at once.
    """

    def __init__(self, answer: Callable[[list[Item]], Awaitable[list[R]]], max_batch: int = 256):
        self._answer = answer
        self._max = max_batch
        self._items: list[Item] = []
        self._futures: list[asyncio.Future[R]] = []
        self._in_flight: set[asyncio.Task[None]] = set()

    async def call(self, item: Item) -> R:
        """answer's result for item."""
        loop = asyncio.get_running_loop()
        if not self._items:
            loop.call_soon(self._send)
        future: asyncio.Future[R] = loop.create_future()
        self._items.append(item)
        self._futures.append(future)
        if len(self._items) >= self._max:
            self._send()
        return await future

    def _send(self) -> None:
        if not self._items:
            return
        items, futures = self._items, self._futures
        self._items, self._futures = [], []
        task = asyncio.ensure_future(self._settle(items, futures))
        # held until done, so the task is not collected mid-flight
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _settle(self, items: list[Item], futures: list[asyncio.Future[R]]) -> None:
        try:
            results = await self._answer(items)
        except Exception as exc:
            for future in futures:
                if not future.done():
                    future.set_exception(exc)
            return
        for future, result in zip(futures, results, strict=True):
            if not future.done():
                future.set_result(result)
