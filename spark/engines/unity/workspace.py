"""A build workspace per project: its source synced in, Unity's caches kept between builds."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from spark.domain.projects import Project
from spark.errors import JobFailure

log = logging.getLogger(__name__)

#: what survives a source sync: Unity's caches, its logs and our build output
KEPT = ("Library", "Temp", "Logs", "obj", "Builds")
#: holds the process group of the Unity running in the workspace, and its start time
PIDFILE = ".spark-build.pid"
#: never copied from a source directory: local caches, and a checkout's own repository
_NOT_MIRRORED = frozenset((*KEPT, ".git", PIDFILE))
GIT_TIMEOUT_S = 600.0
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


@dataclass(frozen=True)
class Workspace:
    """A project's files ready to build; revision is the git commit, None for a directory."""

    path: Path
    revision: str | None


@contextlib.contextmanager
def prepare(
    project: Project, ref: str | None, root: Path, *, git_timeout_s: float = GIT_TIMEOUT_S
) -> Iterator[Workspace]:
    """The project's workspace under root, synced to ref and locked for the whole build."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / str(project.id)
    with (root / f"{project.id}.lock").open("a") as lock:
        # Two builds of one project on one machine would share Library/: one waits.
        fcntl.flock(lock, fcntl.LOCK_EX)
        path.mkdir(exist_ok=True)
        kill_stale_build(path)
        if project.git_url:
            wanted = ref or project.default_ref
            revision: str | None = _sync_git(project.git_url, wanted, path, git_timeout_s)
        elif project.source_dir:
            _sync_dir(Path(project.source_dir), path)
            revision = None
        else:
            raise JobFailure(
                "project_source_unavailable", "the project has no source_dir or git_url"
            )
        yield Workspace(path, revision)


def write_pidfile(workspace: Path, pgid: int) -> None:
    """Record the process group of the Unity now running in the workspace."""
    (workspace / PIDFILE).write_text(f"{pgid} {_start_time(pgid) or 0}\n", encoding="ascii")


def clear_pidfile(workspace: Path) -> None:
    """Forget the workspace's Unity process group once it is gone."""
    (workspace / PIDFILE).unlink(missing_ok=True)


def kill_stale_build(workspace: Path) -> None:
    """SIGKILL the process group an earlier build left behind when its worker was killed."""
    try:
        fields = (workspace / PIDFILE).read_text(encoding="ascii").split()
        pgid, started = int(fields[0]), int(fields[1]) if len(fields) > 1 else 0
    except (OSError, ValueError, IndexError):
        clear_pidfile(workspace)
        return
    now = _start_time(pgid)
    # A live leader with another start time means the id was reused: not our group.
    if pgid > 1 and pgid != os.getpgrp() and not (now is not None and started and now != started):
        log.warning("killing process group %d left by an earlier build in %s", pgid, workspace)
        _kill_group_and_wait(pgid)
    clear_pidfile(workspace)


def _kill_group_and_wait(pgid: int, wait_s: float = 5.0) -> None:
    """SIGKILL a process group and wait briefly until no live process is left in it."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        # Zombies still count for killpg until something reaps them; only the living matter.
        if not _live_members(pgid):
            return
        time.sleep(0.05)


def _live_members(pgid: int) -> bool:
    """Whether any non-zombie process is in the group (True when /proc cannot tell)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text(errors="replace").rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(group) == pgid and state != "Z":
            return True
    return False


def _start_time(pid: int) -> int | None:
    """When a process started, in clock ticks since boot (Linux), or None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _sync_dir(source: Path, workspace: Path) -> None:
    """Mirror the source directory into the workspace, leaving Unity's caches alone."""
    if not source.is_dir() or not os.access(source, os.R_OK | os.X_OK):
        raise JobFailure(
            "project_source_unavailable", f"the project's source_dir {source} is not readable"
        )
    try:
        _mirror(source, workspace, top=True)
    except OSError as error:
        raise JobFailure(
            "project_source_unavailable", f"copying the project from {source} failed: {error}"
        ) from error


def _mirror(source: Path, target: Path, *, top: bool = False) -> None:
    """Make target hold what source holds: copy new and changed files, delete the rest."""
    target.mkdir(exist_ok=True)
    skip = _NOT_MIRRORED if top else frozenset()
    wanted = {entry.name: entry for entry in os.scandir(source) if entry.name not in skip}
    for entry in os.scandir(target):
        if entry.name not in skip and (
            entry.name not in wanted or _kind(entry) != _kind(wanted[entry.name])
        ):
            _remove(Path(entry.path))
    for name, entry in wanted.items():
        destination = target / name
        if entry.is_symlink():
            if not destination.is_symlink() or os.readlink(destination) != os.readlink(entry):
                _remove(destination)
                destination.symlink_to(os.readlink(entry))
        elif entry.is_dir():
            _mirror(Path(entry.path), destination)
        elif _changed(entry, destination):
            shutil.copy2(entry.path, destination)


def _kind(entry: os.DirEntry[str]) -> str:
    """Whether an entry is a symlink, a directory or a file."""
    return "link" if entry.is_symlink() else "dir" if entry.is_dir() else "file"


def _changed(entry: os.DirEntry[str], destination: Path) -> bool:
    """Whether the copy differs from the source file; copy2 keeps mtimes, so they compare."""
    try:
        copied = destination.stat()
    except FileNotFoundError:
        return True
    stat = entry.stat()
    return (stat.st_size, stat.st_mtime_ns) != (copied.st_size, copied.st_mtime_ns)


def _remove(path: Path) -> None:
    """Delete a file, symlink or directory tree if it exists."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path)


def _sync_git(url: str, wanted: str | None, workspace: Path, timeout_s: float) -> str:
    """Clone or fetch the repository and check out wanted (or origin's HEAD); the commit."""
    if not (workspace / ".git").is_dir():
        _clone(url, workspace, timeout_s)
    else:
        _git(["remote", "set-url", "origin", url], workspace, timeout_s)
        # --force: a tag moved on the remote must not stop the fetch ("would clobber").
        _git(["fetch", "--prune", "--tags", "--force", "origin"], workspace, timeout_s)
    commit = _resolve(wanted, workspace, timeout_s)
    if commit is None:
        raise JobFailure(
            "project_source_unavailable",
            f"no branch, tag or commit {wanted!r} in {scrub(url)}"
            if wanted
            else f"{scrub(url)} has no default branch",
        )
    _git(["checkout", "--force", "--detach", commit], workspace, timeout_s)
    excludes = [arg for name in (*KEPT, PIDFILE) for arg in ("-e", f"/{name}")]
    _git(["clean", "-ffdx", *excludes], workspace, timeout_s)
    return _git(["rev-parse", "HEAD"], workspace, timeout_s).strip()


def _clone(url: str, workspace: Path, timeout_s: float) -> None:
    """Clone into a side directory and move its .git in, keeping caches already there."""
    staging = workspace.with_name(workspace.name + ".clone")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _git(["clone", "--no-checkout", "--", url, str(staging)], workspace.parent, timeout_s)
        (staging / ".git").rename(workspace / ".git")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _resolve(ref: str | None, workspace: Path, timeout_s: float) -> str | None:
    """The commit ref names (a branch on origin, a tag or a commit), or origin's HEAD."""
    if ref is not None and ref.startswith("-"):
        return None
    candidates = [f"origin/{ref}", ref] if ref else ["origin/HEAD"]
    for candidate in candidates:
        try:
            return _git(
                ["rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"],
                workspace,
                timeout_s,
            ).strip()
        except JobFailure:
            continue
    return None


def scrub(text: str) -> str:
    """text without the user:password@ part of any URL in it."""
    return _CREDENTIALS.sub(r"\g<scheme>", text)


def _git(args: list[str], cwd: Path, timeout_s: float) -> str:
    """Run git without prompts; its stdout, or JobFailure carrying its (scrubbed) stderr."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    # ssh would otherwise ask about host keys or passphrases on a terminal nobody watches.
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    try:
        process = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError as error:
        raise JobFailure("project_source_unavailable", f"git could not run: {error}") from error
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        # The group, so git's remote helpers go too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise JobFailure(
            "project_source_unavailable", f"git {args[0]} took longer than {timeout_s:g}s"
        ) from None
    if process.returncode != 0:
        message = scrub(err.strip()) or f"git {args[0]} exited with code {process.returncode}"
        raise JobFailure("project_source_unavailable", message)
    return out
