"""Processes on the multi-host tier's hosts: each in its host's network, with its host's name
and a view of the files where only its host's own folder is left.

`ip netns exec` gives every process a mount namespace of its own; in it a fresh tmpfs covers
the run's folder, which holds every host's folder, and the host's own folder (the process's
working directory, still reachable through it) is bound back at its path: a host sees its
own var/ and workspaces, never another host's, and the checkout and its .venv (wherever the
checkout lies, /tmp included) as every machine would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tests.support.cluster_net import Host

#: $1 host name, $2 its folder (the working directory), $3 the run's folder holding every
#: host's, then the command. `--no-canonicalize` hands "." to the kernel as it is, so it is
#: the folder under the new tmpfs, not its path.
_ISOLATE = (
    'hostname "$1" && mount -t tmpfs -o mode=0755 tmpfs "$3" && mkdir -p "$2"'
    ' && mount --no-canonicalize --bind . "$2" && cd "$2" && shift 3 && exec "$@"'
)
#: the checkout every host runs SPARK from
CHECKOUT = Path(__file__).resolve().parents[2]
VENV_BIN = CHECKOUT / ".venv" / "bin"


def on_host(host: Host, argv: Sequence[str]) -> list[str]:
    """argv run on host: its network, its host name (a UTS namespace of its own), its files."""
    return [
        *("ip", "netns", "exec", host.netns, "unshare", "--uts"),
        *("sh", "-c", _ISOLATE, "sh", host.name, str(host.folder), str(host.folder.parent)),
        *argv,
    ]


def run_on(
    host: Host, argv: Sequence[str], env: Mapping[str, str], timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run argv on host to its end; its output (CalledProcessError if it failed)."""
    done = subprocess.run(
        on_host(host, argv),
        cwd=host.folder,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} on {host.name} exited {done.returncode}:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    return done


class HostProcess:
    """A long-running process on one host, its output in a log file in the host's folder."""

    def __init__(self, host: Host, label: str, argv: Sequence[str], env: Mapping[str, str]):
        self.host = host
        self.label = label
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = host.folder / f"{label}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The process's id (`ip`, `unshare` and `sh` each exec the next: it is the command's)."""
        assert self.proc is not None
        return self.proc.pid

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> HostProcess:
        """Start it (readiness is the caller's: wait_until with the process's own signal)."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                on_host(self.host, self.argv),
                cwd=self.host.folder,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def log(self) -> str:
        """Everything it printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_until(self, ready: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        """Wait until ready() says so; fail with the log's tail if the process ends first."""
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.running or time.monotonic() > deadline:
                state = "is still starting" if self.running else "exited"
                raise AssertionError(
                    f"{self.label} on {self.host.name} {state}, not {what}:\n{self.log()[-3000:]}"
                )
            time.sleep(0.1)

    def signal(self, sig: signal.Signals) -> None:
        """Send sig to the process's whole group."""
        if self.running:
            os.killpg(self.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the group, SIGKILL it if it has not ended within timeout."""
        if not self.running:
            return
        self.signal(signal.SIGTERM)
        assert self.proc is not None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(10)
