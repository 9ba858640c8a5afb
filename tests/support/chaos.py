"""Faults the chaos tier inflicts on real processes: pool children SIGKILLed on a timer, a
Redis restarted with nothing kept, the local Postgres stopped and started."""

from __future__ import annotations

import glob
import os
import random
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import redis

from tests.support.services import PG_PORT, REDIS_PORT, listening

#: how the machine's Redis is started (its own service command), when its folders exist
REDIS_COMMAND = (
    "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no"
    " --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)


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


def _wait_port(port: int, up: bool, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while listening(port) != up:
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} still {'down' if up else 'up'}")
        time.sleep(0.1)


def restart_redis_empty(url: str) -> None:
    """Shut the Redis behind url down without saving and start it again: every key is gone,
    as after a crash of a Redis that keeps nothing on disk."""
    run_id = redis.Redis.from_url(url).info("server")["run_id"]
    subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "shutdown", "nosave"], check=False)
    _wait_port(REDIS_PORT, up=False)
    if Path("/var/lib/redis").is_dir() and Path("/var/log/redis").is_dir():
        subprocess.run(shlex.split(REDIS_COMMAND), check=True)
    else:
        folder = Path(os.environ.get("TMPDIR", "/tmp"))
        command = ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1"]
        subprocess.run([*command, "--save", "", "--dir", str(folder), "--daemonize", "yes"])
    _wait_port(REDIS_PORT, up=True)
    assert redis.Redis.from_url(url).info("server")["run_id"] != run_id


def _cluster() -> tuple[str, str] | None:
    """The Debian cluster (version, name) serving the port, if this machine uses one."""
    if shutil.which("pg_ctlcluster") is None:
        return None
    versions = sorted(glob.glob("/etc/postgresql/*/main"))
    return (Path(versions[-1]).parent.name, "main") if versions else None


@contextmanager
def postgres_stopped(admin_url: str) -> Iterator[None]:
    """Stop the Postgres on the test port (fast shutdown: sessions cut) and start it again
    on leaving, whatever happened meanwhile."""
    cluster = _cluster()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        data = str(conn.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
    opts = (Path(data) / "postmaster.opts").read_text()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if cluster:
        stop = ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "stop", "-m", "fast"]
        subprocess.run(stop, check=True)
    else:
        subprocess.run([*as_postgres, "pg_ctl", "-D", data, "stop", "-m", "fast"], check=True)
    _wait_port(PG_PORT, up=False)
    try:
        yield
    finally:
        if cluster:
            start = ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "start"]
            subprocess.run(start, check=True)
        else:
            # A throwaway cluster: start it with the command line it last ran with.
            subprocess.Popen([*as_postgres, *shlex.split(opts)], start_new_session=True)
        _wait_port(PG_PORT, up=True)
