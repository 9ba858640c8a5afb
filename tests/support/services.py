"""The suite's own servers: PostgreSQL, Redis (Valkey) and NATS started from their wheels.

One stack per test session, on free ports under a folder of its own, so two runs on one
machine never share a server and the chaos tier may stop, kill and restart them (each comes
back on its port: the stack remembers it in servers.json). The machine's own services are
never reached.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from spark.embedded.servers import ChildServer
from spark.embedded.stack import NATS, POSTGRES, REDIS, EmbeddedStack, StackOptions, StackUrls


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class SuiteStack:
    """The session's running servers and where they answer."""

    stack: EmbeddedStack
    urls: StackUrls

    @property
    def root(self) -> Path:
        """The folder holding the servers' data and logs."""
        return self.stack.root

    def server(self, name: str) -> ChildServer:
        """One server ("postgres", "redis" or "nats"), to stop, kill or start again."""
        return self.stack.servers[name]

    def port(self, name: str) -> int:
        """The port a server answers on (the same after a restart)."""
        return self.server(name).spec.port

    @property
    def admin_url(self) -> str:
        """A libpq URL of the server's maintenance database, for creating databases."""
        return f"postgresql://postgres@127.0.0.1:{self.port(POSTGRES)}/postgres"

    def redis_url(self, db: int) -> str:
        """A Redis database of the suite's server (0 is the broker's, 1 SPARK's own keys)."""
        return f"redis://127.0.0.1:{self.port(REDIS)}/{db}"

    @property
    def nats_url(self) -> str:
        """The suite's NATS with JetStream."""
        return f"nats://127.0.0.1:{self.port(NATS)}"


_running: SuiteStack | None = None


def suite_stack() -> SuiteStack:
    """The session's stack, started on first use (about a second and a half)."""
    global _running
    if _running is None:
        root = Path(tempfile.mkdtemp(prefix="spark-suite-"))
        # Run as root, Postgres runs as nobody, who must be able to enter the folder
        # (pytest's own temporary folders are 0700).
        root.chmod(0o755)
        # not durable: fsync off, as nothing here must survive the machine
        stack = EmbeddedStack(root, StackOptions(durable=False))
        _running = SuiteStack(stack, stack.start())
    return _running


def stop_suite_stack() -> None:
    """Stop the session's servers and remove their folder."""
    global _running
    if _running is not None:
        _running.stack.stop()
        shutil.rmtree(_running.root, ignore_errors=True)
        _running = None
