"""A background batcher: items added from any thread are written together, off the hot path."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    """Hands added items to `write` in batches: every interval, on flush(), and on close()."""

    def __init__(self, write: Callable[[list[T]], None], interval_s: float, name: str) -> None:
        self._write, self._interval, self._name = write, interval_s, name
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
        if self._thread is not None:
            self._thread.join(5)
        self.flush()

    def _run(self) -> None:
        while not self._closed.wait(self._interval):
            self.flush()
