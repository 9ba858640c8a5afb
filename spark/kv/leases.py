"""Leases: one holder at a time for a named thing (a Unity editor instance), across every
worker process through Redis.

A Redis lease lives LEASE_TTL_S and is renewed by a thread while its holder runs, so a worker
killed mid-job frees the thing within that time instead of blocking it forever.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

import redis
from redis.exceptions import LockError

PREFIX = "spark:lease:"
LEASE_TTL_S = 30.0


class LeaseBusy(TimeoutError):
    """Another holder kept the lease for the whole wait."""


class Leases(Protocol):
    """Exclusive holds on names."""

    def hold(self, name: str, wait_s: float) -> AbstractContextManager[None]:
        """Hold name for the block, waiting up to wait_s for its holder; else LeaseBusy."""
        ...


class RedisLeases:
    """Leases as Redis locks (a token only the holder knows; released only by it)."""

    def __init__(self, url: str, ttl_s: float = LEASE_TTL_S) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=5.0, socket_connect_timeout=2.0)
        self._ttl = ttl_s

    @contextlib.contextmanager
    def hold(self, name: str, wait_s: float) -> Iterator[None]:
        # not thread-local: the renewing thread must see the holder's token
        lock = self._redis.lock(
            PREFIX + name,
            timeout=self._ttl,
            sleep=0.05,
            blocking_timeout=wait_s,
            thread_local=False,
        )
        if not lock.acquire():
            raise LeaseBusy(f"{name} stayed busy for {wait_s:g}s")
        stop = threading.Event()
        renewer = threading.Thread(
            target=_renew, args=(lock, stop, self._ttl / 3), name=f"lease-{name}", daemon=True
        )
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            with contextlib.suppress(LockError, redis.RedisError):
                lock.release()


def _renew(lock: redis.lock.Lock, stop: threading.Event, every_s: float) -> None:
    while not stop.wait(every_s):
        with contextlib.suppress(LockError, redis.RedisError):
            lock.reacquire()
