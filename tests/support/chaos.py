"""Faults the chaos tier inflicts on real processes: pool children SIGKILLed on a timer, the
suite's Redis restarted with nothing kept, its Postgres stopped and started.

Servers are started again from the test's own (main) thread: each dies with the thread that
started it (the parent-death signal), so one started from a helper thread would not last.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from spark.embedded.stack import POSTGRES, REDIS
from tests.support.services import SuiteStack, listening


def pool_children(pid: int) -> list[int]:
    """The processes a worker's main process forked (its prefork pool)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


class PoolKiller:
    """SIGKILLs one pool child of a worker every interval_s, in a thread, until stopped."""

    def __init__(self, interval_s: float = 2.0) -> None:
        self.interval_s = interval_s
        self.kills = 0
        self.worker_pid: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self, worker_pid: int) -> PoolKiller:
        self.worker_pid = worker_pid
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            children = pool_children(self.worker_pid) if self.worker_pid else []
            if not children:
                continue
            try:
                os.kill(random.choice(children), signal.SIGKILL)
                self.kills += 1
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def restart_redis_empty(stack: SuiteStack) -> None:
    """Kill the suite's Redis and start it again with its append-only file gone: every key is
    lost, as after a crash of a Redis that keeps nothing on disk."""
    url = stack.redis_url(0)
    with redis.Redis.from_url(url) as client:
        run_id = client.info("server")["run_id"]
    server = stack.server(REDIS)
    server.kill()
    shutil.rmtree(stack.root / "redis")
    (stack.root / "redis").mkdir()
    server.start()
    with redis.Redis.from_url(url) as client:
        assert client.info("server")["run_id"] != run_id
        assert client.dbsize() == 0


@contextmanager
def postgres_stopped(stack: SuiteStack) -> Iterator[None]:
    """Stop the suite's Postgres (fast shutdown: sessions cut) and start it again on leaving,
    on the same port, whatever happened meanwhile."""
    server = stack.server(POSTGRES)
    server.stop()
    assert not listening(stack.port(POSTGRES))
    try:
        yield
    finally:
        server.start()
