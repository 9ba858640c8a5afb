"""Unity as a child process: its own process group, its log read line by line, the group stopped."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger(__name__)

#: the longest line handed on at once; longer ones arrive in pieces rather than all in memory
MAX_LINE_BYTES = 64 * 1024
#: how long to wait for the log to end once the group is dead (an escaped helper may hold it)
READER_JOIN_S = 5.0
#: how long to wait for the SIGKILLed leader to be reaped
REAP_S = 10.0
_PR_SET_PDEATHSIG = 1
# Loaded before any fork: the child may not load libraries between fork and exec.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


class UnityProcess:
    """A running Unity and the thread reading its merged stdout and stderr."""

    def __init__(self, popen: subprocess.Popen[bytes], on_line: Callable[[str], None]) -> None:
        self.popen = popen
        #: what on_line raised, if it did; the supervisor re-raises it
        self.reader_error: Exception | None = None
        self.reader = threading.Thread(
            target=self._read, args=(on_line,), name=f"unity-log-{popen.pid}", daemon=True
        )
        self.reader.start()

    @property
    def pgid(self) -> int:
        """The process group Unity leads, which its helpers (shader compiler …) inherit."""
        return self.popen.pid

    def _read(self, on_line: Callable[[str], None]) -> None:
        """Hand each line to on_line until every process holding the pipe is gone."""
        assert self.popen.stdout is not None
        with self.popen.stdout as stream:
            for raw in iter(lambda: stream.readline(MAX_LINE_BYTES), b""):
                # After a failure keep draining: a full pipe would block Unity forever.
                if self.reader_error is not None:
                    continue
                try:
                    on_line(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
                except Exception as error:
                    self.reader_error = error


def start(
    command: Sequence[str],
    cwd: Path,
    on_line: Callable[[str], None],
    env: dict[str, str] | None = None,
) -> UnityProcess:
    """Start Unity in a new session, its output going line by line to on_line."""
    popen = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with(os.getpid()) if _LIBC is not None else None,
    )
    return UnityProcess(popen, on_line)


def _die_with(parent: int) -> Callable[[], None]:
    """A preexec hook asking the kernel to SIGKILL the child when this worker dies."""

    def preexec() -> None:
        assert _LIBC is not None
        # The signal follows the parent *thread*, so the starting thread must outlive Unity,
        # as run_build's does.
        _LIBC.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the worker died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def wait_exit(proc: UnityProcess, timeout_s: float) -> bool:
    """Wait up to timeout_s for Unity to exit (without reaping it); whether it has."""
    if exited(proc):
        return True
    try:
        # A pidfd turns readable the moment the process exits: no sleeping past its exit.
        fd = os.pidfd_open(proc.popen.pid)
    except (OSError, AttributeError):
        time.sleep(timeout_s)
        return exited(proc)
    try:
        select.select([fd], [], [], timeout_s)
    finally:
        os.close(fd)
    return exited(proc)


def exited(proc: UnityProcess) -> bool:
    """Whether Unity has exited, leaving it unreaped so its group id cannot be reused yet."""
    if proc.popen.returncode is not None:
        return True
    try:
        state = os.waitid(os.P_PID, proc.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return state is not None


def stop(proc: UnityProcess, grace_s: float) -> int | None:
    """End Unity's whole process group (SIGTERM, then SIGKILL after grace); its exit code."""
    try:
        if not exited(proc):
            _signal_group(proc.pgid, signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while not exited(proc) and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        # Always, even after a clean exit: helpers such as the shader compiler must not
        # outlive the build. The leader is not reaped yet, so the group id is still ours.
        _signal_group(proc.pgid, signal.SIGKILL)
    try:
        code: int | None = proc.popen.wait(timeout=REAP_S)
    except subprocess.TimeoutExpired:
        log.error("Unity (pid %d) did not die after SIGKILL", proc.popen.pid)
        code = None
    proc.reader.join(timeout=READER_JOIN_S)
    if proc.reader.is_alive():
        log.warning(
            "Unity's log (pid %d) is still held open by a process outside its group", proc.pgid
        )
    return code


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    """Send signum to every process in the group, if any is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)
