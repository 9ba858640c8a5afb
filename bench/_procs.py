"""Child processes for the benchmark: started in their own session, logged, always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


#: the source checkout this benchmark runs from (bench and fakes are not installed packages)
CHECKOUT = Path(__file__).resolve().parents[1]


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The parent's environment without any SPARK_* variable, plus extra.

    Children import spark as an installed package and bench and fakes from the checkout,
    which goes first on their PYTHONPATH (they run in a temporary folder).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHECKOUT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


class Proc:
    """One child process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.args = [sys.executable, *args]
        self.env = env
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process in a new session (so it can be stopped as a group)."""
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.args,
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self) -> str:
        """The end of the log, for error messages."""
        return self.log()[-3000:]

    def check_alive(self) -> None:
        """Raise, with the tail of the log, if the process has exited."""
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")

    def wait_for_log(self, marker: str, timeout: float = 60.0) -> None:
        """Wait until marker appears in the log."""
        deadline = time.monotonic() + timeout
        while marker not in self.log():
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready in {timeout:.0f}s:\n{self.tail()}")
            time.sleep(0.1)

    def wait_http_ok(self, url: str, timeout: float = 60.0, expect: int = 200) -> None:
        """Wait until GET url answers expect (200)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if httpx.get(url, timeout=1.0).status_code == expect:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name}: {url} not healthy in {timeout:.0f}s:\n{self.tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of every live process in this process group."""
        if self.proc is None:
            return 0.0
        return group_cpu_seconds(self.proc.pid)

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM the process group, then SIGKILL it if it is still there after grace."""
        if self.proc is None:
            return
        _signal_group(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(grace)
        # Prefork children may outlive their parent: kill whatever is left of the group.
        _signal_group(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(10)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of group pgid."""
    return sum(group_ticks(pgid).values()) / _TICKS


def cpu_seconds_since(before: dict[int, int], now: dict[int, int]) -> float:
    """CPU seconds between two readings of ticks per process (new processes count whole;
    ones that exited in between are lost, so measure long-lived ones)."""
    return sum(t - before.get(pid, 0) for pid, t in now.items()) / _TICKS


def stop_all(procs: list[Proc]) -> None:
    """Stop every process, newest first, even if stopping one fails."""
    for proc in reversed(procs):
        try:
            proc.stop()
        except Exception as exc:
            print(f"warning: could not stop {proc.name}: {exc}", file=sys.stderr)


def _ticks_where(keep: Callable[[int, list[str]], bool]) -> dict[int, int]:
    """utime + stime of each live process whose (pid, stat fields) keep accepts."""
    found: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        if keep(pid, fields):  # state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
            found[pid] = int(fields[11]) + int(fields[12])
    return found


def group_ticks(pgid: int) -> dict[int, int]:
    """utime + stime of each live process of group pgid."""
    return _ticks_where(lambda _, fields: int(fields[2]) == pgid)


def server_ticks(pid: int) -> dict[int, int]:
    """utime + stime of server process pid and its children (Postgres's backends each lead a
    session of their own, so they are counted as the postmaster's children, not its group)."""
    return _ticks_where(lambda found, fields: pid in (found, int(fields[1])))


def start_api_and_worker(
    env: dict[str, str], workdir: Path, procs: list[Proc], queues: str, concurrency: int
) -> str:
    """`spark consumer`, `spark api` and one `spark worker` on queues, as deployed, all with env
    (SPARK_* included: the parent's own are left out), appended to procs in that order (the
    API and the worker last) and ready; the API's URL."""
    # the worker's own /metrics server stays on, on a port of its own
    env = {"SPARK_WORKER_METRICS_PORT": str(free_port())} | env
    port = free_port()
    for name, args in (
        ("consumer", ["consumer"]),
        ("api", ["api", "--port", str(port), "--no-access-log"]),
        ("worker", ["worker", "--queues", queues, "--concurrency", str(concurrency)]),
    ):
        procs.append(Proc(f"spark-{name}", ["-m", "spark.cli", *args], child_env(env), workdir))
        procs[-1].start()
    url = f"http://127.0.0.1:{port}"
    procs[-3].wait_for_log("event consumer")
    procs[-2].wait_http_ok(f"{url}/v1/health")
    procs[-1].wait_for_log("ready.")
    return url
