"""A build workspace per project: its source synced in, Unity's caches kept between builds."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from spark.domain.projects import Project, file_url, git_local_path
from spark.engines.unity import mirror
from spark.errors import JobFailure
from spark.security import sources

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
    """A project's files ready to build; revision is the git commit, None for a directory
    or SPARK's file store."""

    path: Path
    revision: str | None


@contextlib.contextmanager
def prepare(
    project: Project,
    ref: str | None,
    root: Path,
    *,
    source_roots: Sequence[Path] | None,
    git_timeout_s: float = GIT_TIMEOUT_S,
) -> Iterator[Workspace]:
    """The project's workspace under root, synced to ref and locked for the whole build.

    A source on this machine is resolved and checked against source_roots (`{user}` the
    project's owner) again here, before anything is read: a symlink swapped in since the
    project was registered fails the build `source_unreachable`, nothing copied. A project
    with neither source is SPARK's file store alone: the workspace is emptied but for
    Unity's caches, and the build lays the store's files into it.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / str(project.id)
    with (root / f"{project.id}.lock").open("a") as lock:
        # Two builds of one project on one machine would share Library/: one waits.
        fcntl.flock(lock, fcntl.LOCK_EX)
        path.mkdir(exist_ok=True)
        kill_stale_build(path)
        if project.git_url:
            wanted = ref or project.default_ref
            url = _fetchable(project, project.git_url, source_roots, root)
            revision: str | None = _sync_git(url, wanted, path, git_timeout_s)
        elif project.source_dir:
            _sync_dir(project, project.source_dir, source_roots, path)
            revision = None
        else:
            _empty(path)
            revision = None
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


def _sync_dir(
    project: Project, source_dir: str, roots: Sequence[Path] | None, workspace: Path
) -> None:
    """Mirror the source directory into the workspace, leaving Unity's caches alone."""

    def copy(tree: mirror.Tree) -> None:
        mirror.mirror(tree, workspace, _NOT_MIRRORED)

    _read_tree(project, source_dir, roots, copy)


def _empty(workspace: Path) -> None:
    """Remove everything from the workspace but Unity's caches, so only SPARK's files remain
    once they are laid in (nothing an earlier build laid outlives it)."""
    for entry in workspace.iterdir():
        if entry.name in (*KEPT, PIDFILE):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _fetchable(project: Project, url: str, roots: Sequence[Path] | None, root: Path) -> str:
    """What git fetches from: a remote URL as it is; a repository on this machine copied
    first (the copy never leaving it) to a folder of the workspace root, and fetched from
    there, so git itself never follows a symlink or a path the repository names."""
    local = git_local_path(url)
    if local is None:
        return url
    staged = root / f"{project.id}.repository"

    def copy(tree: mirror.Tree) -> None:
        work_tree_git = mirror.subtree(tree, ".git")
        try:
            mirror.mirror(work_tree_git or tree, staged, frozenset())
        finally:
            if work_tree_git is not None:
                os.close(work_tree_git.fd)

    _read_tree(project, local, roots, copy, within_only=True)
    for borrowed in ("commondir", "objects/info/alternates", "objects/info/http-alternates"):
        if (staged / borrowed).exists():
            raise JobFailure(
                "source_unreachable",
                f"the repository at {local} names another one in {borrowed}; "
                "SPARK builds only a repository that holds its own objects",
            )
    return file_url(staged.resolve())


def _read_tree(
    project: Project,
    path: str,
    roots: Sequence[Path] | None,
    read: Callable[[mirror.Tree], None],
    *,
    within_only: bool = False,
) -> None:
    """Open the directory at path, once it resolves under the owner's roots, and read it;
    source_unreachable outside them, project_source_unavailable if it cannot be read.
    within_only: a symlink in it may not lead out of it at all."""
    field = "git_url" if project.git_url else "source_dir"
    resolved = _placed(project, field, path, roots)
    try:
        fd = mirror.open_dir(resolved)
    except FileNotFoundError:
        raise _not_on_this_host(field, path) from None
    except OSError as error:
        raise JobFailure(
            "project_source_unavailable",
            f"the project's {field} {path} is not readable: {error.strerror}",
        ) from None
    try:
        # Checked again where it was really opened: something may have moved in between.
        real = _placed(project, field, str(mirror.real_path(fd, resolved)), roots)
        owned = sources.roots_for(roots or [], project.owner)
        allowed = (lambda _path: False) if within_only else partial(sources.within, roots=owned)
        read(mirror.Tree(fd, real, allowed))
    except OSError as error:
        raise JobFailure(
            "project_source_unavailable", f"copying the project from {path} failed: {error}"
        ) from error
    finally:
        os.close(fd)


def _not_on_this_host(field: str, path: str) -> JobFailure:
    """source_unreachable naming this builder: a builder shares no disk with the API host or
    with other builders, so a directory may exist on one and not on another."""
    host = socket.gethostname()
    return JobFailure(
        "source_unreachable",
        f"the project's {field} {path} does not exist on the build machine {host}; a builder "
        "reads only its own disks: use a git URL or SPARK's file store, or put the directory "
        "on every builder",
        {"field": field, "host": host},
    )


def _placed(project: Project, field: str, path: str, roots: Sequence[Path] | None) -> Path:
    """path resolved, or source_unreachable when it lies outside the owner's roots."""
    try:
        return sources.place(path, roots, project.owner)
    except sources.SourceRefused as refused:
        raise JobFailure(
            "source_unreachable", f"the project's {field} {path}: {refused}", {"field": field}
        ) from None


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
