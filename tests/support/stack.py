"""`spark up` (what `make run` starts) as a child process session, and what it printed."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def up_folder() -> Path:
    """A new folder for `spark up` to run in, removed by the caller.

    Not pytest's tmp_path: run as root, `spark up` runs PostgreSQL as nobody, who must be able
    to enter every folder above its data (pytest's are 0700).
    """
    folder = Path(tempfile.mkdtemp(prefix="spark-up-"))
    folder.chmod(0o755)
    return folder


class Up:
    """A running `spark up` in workdir: its process group, printed lines and URL."""

    def __init__(self, workdir: Path, port: int, **env: str) -> None:
        self.workdir, self.url = workdir, f"http://127.0.0.1:{port}"
        self.log = workdir.parent / f"{workdir.name}-stderr.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_")}
        spark = Path(sys.executable).parent / "spark"
        with self.log.open("ab") as stderr:
            self.proc = subprocess.Popen(
                [str(spark), "up", "--port", str(port)],
                cwd=workdir,
                env=base | env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,
            )
        assert self.proc.stdout is not None
        self.lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            self.lines.append(line)
            # the last line `spark up` prints once everything runs: the MCP example
            if "mcp add" in line or self.proc.poll() is not None:
                break
        # Keep reading, so the services' own output never fills the pipe and blocks them.
        self._drain = threading.Thread(target=self.proc.stdout.read, daemon=True)
        self._drain.start()

    def line_after(self, marker: str) -> str:
        """The printed line after the first one containing marker."""
        index = next(i for i, line in enumerate(self.lines) if marker in line)
        return self.lines[index + 1].strip()

    @property
    def key(self) -> str:
        """The API key it printed."""
        found = re.search(r"API key: (spk_\S+)", "".join(self.lines))
        assert found is not None, "".join(self.lines) + self.errors()
        return found.group(1)

    def errors(self) -> str:
        """The tail of the services' stderr: it explains a stack that stopped early."""
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        """TERM `spark up`, which stops its services, and wait for it."""
        with contextlib.suppress(ProcessLookupError):  # the stack may have stopped already
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close()

    def kill(self) -> None:
        """SIGKILL every process of the stack at once, its servers included, as when its
        machine dies.

        `spark up` puts each service and server in a process group of its own, so the session
        (which they all share) is what names them all. Each is stopped first, then killed:
        none sees another die and shuts down cleanly (a server's parent-death signal, a
        worker's lost connection) before its own kill.
        """
        deadline = time.monotonic() + 10
        while members := _session_members(self.proc.pid):
            for sig in (signal.SIGSTOP, signal.SIGKILL):
                for pid in members:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, sig)
            assert time.monotonic() < deadline, f"still running: {members}"
            time.sleep(0.05)
        self.proc.wait(10)
        # Gone for good only once reaped (init reaps the orphans): a server's zombie still
        # owns its pid, and PostgreSQL will not start over the lock file of a live pid.
        while members := _session_members(self.proc.pid, zombies=True):
            assert time.monotonic() < deadline, f"never reaped: {members}"
            time.sleep(0.05)
        self._close()

    def _close(self) -> None:
        self._drain.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def _session_members(sid: int, zombies: bool = False) -> list[int]:
    """Processes of session sid: live ones, or zombies as well."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if (zombies or fields[0] != "Z") and int(fields[3]) == sid:
            members.append(int(entry.name))
    return members
