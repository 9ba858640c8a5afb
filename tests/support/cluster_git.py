"""Unity projects served by `git daemon` on the multi-host tier's services host, so a builder
that has never seen a project fetches it over the network."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fakes.unity import make_unity_project
from tests.support.cluster import Cluster

GIT_PORT = 9418
#: a commit made the same way on every run (author, committer, dates)
_IDENTITY = {
    "GIT_AUTHOR_NAME": "SPARK tests",
    "GIT_AUTHOR_EMAIL": "tests@spark.invalid",
    "GIT_COMMITTER_NAME": "SPARK tests",
    "GIT_COMMITTER_EMAIL": "tests@spark.invalid",
}


@dataclass(frozen=True)
class Published:
    """A repository the daemon serves, and its one commit."""

    url: str
    commit: str


def _git(args: list[str], cwd: Path) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), **_IDENTITY}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def _listening(address: str) -> bool:
    try:
        with socket.create_connection((address, GIT_PORT), timeout=1.0):
            return True
    except OSError:
        return False


def git_base(cluster: Cluster) -> Path:
    """The services host's git folder, with `git daemon` serving it (started on first use)."""
    host = cluster.services.host
    base = host.folder / "git"
    if base.is_dir():
        return base
    base.mkdir()
    argv = ["git", "daemon", f"--base-path={base}", "--export-all", "--reuseaddr"]
    daemon = cluster.spawn(host, "git-daemon", [*argv, f"--listen={host.address}", str(base)])
    daemon.wait_until(lambda: _listening(host.address), "serving git")
    return base


def publish(cluster: Cluster, name: str, delay_s: float = 0.02) -> Published:
    """A Unity project committed to a bare repository the daemon serves as <name>.git."""
    base = git_base(cluster)
    work = make_unity_project(base.parent / "work" / name, delay_s=delay_s)
    _git(["init", "-q", "-b", "main"], work)
    _git(["add", "-A"], work)
    _git(["commit", "-q", "-m", f"{name}: the first scene"], work)
    _git(["clone", "-q", "--bare", str(work), str(base / f"{name}.git")], base)
    commit = _git(["rev-parse", "HEAD"], work)
    return Published(f"git://{cluster.services.host.address}/{name}.git", commit)
