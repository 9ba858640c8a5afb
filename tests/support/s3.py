"""The suite's S3-compatible server: moto's `moto_server` as a child process on 127.0.0.1.

One per test session, started on first use, on a free port it keeps: a test may stop it
(a storage outage) and start it again on the same port. moto holds objects in memory, so
a restart loses them, as an outage of a real server would not; tests that restart it only
look at what is written afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.services import free_port, listening

#: any credentials work with moto; real ones must never be picked up from the machine
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "spark-test",
    "AWS_SECRET_ACCESS_KEY": "spark-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class MotoServer:
    """`moto_server -H 127.0.0.1 -p <port>`, stoppable and restartable on its port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = Path(tempfile.mkdtemp(prefix="spark-moto-")) / "moto.log"

    def start(self, timeout: float = 20.0) -> None:
        """Start the server, unless it runs, and wait until it accepts connections."""
        if self.proc is not None and self.proc.poll() is None:
            return
        executable = Path(sys.executable).with_name("moto_server")
        with self._log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(executable), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto_server did not start:\n{self.log()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (its objects go with it) and wait until the port is closed."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def rss_bytes(self) -> int:
        """The server process's resident memory."""
        if self.proc is None:
            return 0
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))
        return int(kib) * 1024

    def log(self) -> str:
        """What the server printed so far."""
        return self._log.read_text(errors="replace") if self._log.exists() else ""


_running: MotoServer | None = None


def suite_s3() -> MotoServer:
    """The session's S3 server, started on first use (about a quarter of a second)."""
    global _running
    if _running is None:
        _running = MotoServer()
        _running.start()
    elif not _running.running:
        # A test that stopped it and failed before starting it again.
        _running.start()
    return _running


def stop_suite_s3() -> None:
    """Stop the session's S3 server, if one was started."""
    global _running
    if _running is not None:
        _running.stop()
        _running = None
