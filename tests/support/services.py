"""Real Postgres, Redis and NATS for the suite: use the local ones, or start throwaway ones."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_PORT, REDIS_PORT, NATS_PORT = 5432, 6379, 4222


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


def _wait(port: int, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start listening on 127.0.0.1:{port}")


def _start_redis(work: Path) -> None:
    binary = shutil.which("redis-server")
    if binary:
        subprocess.Popen(
            [
                binary,
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(work),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


def _start_nats(work: Path) -> None:
    binary = shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None
    )
    if binary:
        subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", str(NATS_PORT), "-js", "-sd", str(work / "nats")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


def _start_postgres(work: Path) -> None:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins:
        return
    bindir = Path(bins[-1])
    data = work / "pg"
    # initdb refuses to run as root; run the throwaway cluster as the postgres user then.
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if prefix:
        shutil.chown(work, "postgres")
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(work / "pg.log"),
            "-o",
            f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -k {work}",
            "start",
        ],
        check=True,
        capture_output=True,
    )


def ensure_services() -> None:
    """Make Postgres, Redis and NATS reachable on their default ports, or raise."""
    work = Path(tempfile.mkdtemp(prefix="spark-services-"))
    os.chmod(work, 0o755)
    starters = {
        PG_PORT: ("Postgres", _start_postgres),
        REDIS_PORT: ("Redis", _start_redis),
        NATS_PORT: ("NATS", _start_nats),
    }
    for port, (name, start) in starters.items():
        # A service restarted by a chaos test of another run on this machine is back within
        # seconds; starting a throwaway one on its port meanwhile would keep it out for good.
        if not listening(port) and not _back_soon(port):
            start(work)
            _wait(port, name)


def _back_soon(port: int, within_s: float = 20.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if listening(port):
            return True
        time.sleep(0.5)
    return False
