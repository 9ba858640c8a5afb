"""A source directory mirrored into a build workspace without ever reading outside it.

The copy never follows a symlink: each folder is opened relative to its parent with
O_NOFOLLOW and each file likewise, so a folder or file swapped for a symlink while the copy
runs is an error rather than a way out; FIFOs, sockets and devices are left out. A symlink
in the tree is made again in the workspace pointing where it really leads: at the
workspace's own copy when its target lies inside the tree, at the target itself when that
lies elsewhere under the owner's roots, and otherwise the build stops `source_unreachable`.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from spark.errors import JobFailure

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
#: O_NONBLOCK: opening something that turned into a FIFO must not hang the copy
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Tree:
    """An opened source directory: its descriptor, where it really is, and which places
    outside it a symlink in it may lead to."""

    fd: int
    real: Path
    allowed: Callable[[Path], bool]


def open_dir(path: Path) -> int:
    """A descriptor of the directory path (its last component not a symlink)."""
    return os.open(path, _DIR_FLAGS)


def real_path(fd: int, opened: Path) -> Path:
    """Where the opened directory really is: Linux says so in /proc; elsewhere, opened as
    long as it is still the same directory."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        pass
    if not os.path.samestat(os.fstat(fd), os.stat(opened, follow_symlinks=False)):
        raise JobFailure("source_unreachable", f"{opened} changed while it was opened")
    return opened


def subtree(tree: Tree, name: str) -> Tree | None:
    """The folder name directly in tree, opened (close its fd), or None if there is none;
    source_unreachable if name is a symlink or a file (a `.git` file names another
    repository's folder)."""
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=tree.fd)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        raise JobFailure(
            "source_unreachable",
            f"{name} in {tree.real} is not a folder; SPARK reads only what lies inside",
        ) from None
    return Tree(fd, tree.real / name, tree.allowed)


def mirror(tree: Tree, target: Path, skip: frozenset[str]) -> None:
    """Make target hold what the tree holds: copy new and changed files, delete the rest;
    names in skip are left alone at the top."""
    _mirror_dir(tree, tree.fd, PurePosixPath(), target, skip)


def _mirror_dir(
    tree: Tree, dir_fd: int, rel: PurePosixPath, target: Path, skip: frozenset[str]
) -> None:
    target.mkdir(exist_ok=True)
    with os.scandir(dir_fd) as entries:
        wanted = {
            entry.name: entry
            for entry in entries
            if entry.name not in skip and _kind(entry) != "other"
        }
    with os.scandir(target) as entries:
        for entry in entries:
            if entry.name not in skip and (
                entry.name not in wanted or _kind(entry) != _kind(wanted[entry.name])
            ):
                _remove(Path(entry.path))
    for name, entry in wanted.items():
        kind, destination = _kind(entry), target / name
        if kind == "link":
            _mirror_link(tree, rel / name, destination)
        elif kind == "dir":
            child = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            try:
                _mirror_dir(tree, child, rel / name, destination, frozenset())
            finally:
                os.close(child)
        elif _changed(entry, destination):
            _copy_file(dir_fd, name, destination)


def _mirror_link(tree: Tree, rel: PurePosixPath, destination: Path) -> None:
    """Make the symlink at rel again at destination, pointing where it really leads."""
    leads_to = Path(os.path.realpath(tree.real / rel))
    if leads_to.is_relative_to(tree.real):
        # Relative, from the link's (real) folder in the workspace to its copy of the target.
        inside = PurePosixPath("/", leads_to.relative_to(tree.real))
        points_at = os.path.relpath(inside, PurePosixPath("/", rel.parent))
    elif tree.allowed(leads_to):
        points_at = str(leads_to)
    else:
        raise JobFailure(
            "source_unreachable",
            f"{rel} in the project's source is a symlink to {leads_to}, outside "
            "SPARK_SOURCE_ROOTS; nothing outside them is copied",
            {"path": str(rel)},
        )
    if not destination.is_symlink() or os.readlink(destination) != points_at:
        _remove(destination)
        destination.symlink_to(points_at)


def _copy_file(dir_fd: int, name: str, destination: Path) -> None:
    """Copy the regular file name (in dir_fd) to destination with its mode and times."""
    source = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    with open(source, "rb") as reader:
        info = os.fstat(source)
        if not stat.S_ISREG(info.st_mode):
            return  # it turned into something else since it was listed
        _remove(destination)
        with open(os.open(destination, _NEW_FILE_FLAGS, 0o600), "wb") as writer:
            shutil.copyfileobj(reader, writer, 1024 * 1024)
        os.chmod(destination, stat.S_IMODE(info.st_mode) & 0o777)
        os.utime(destination, ns=(info.st_atime_ns, info.st_mtime_ns))


def _kind(entry: os.DirEntry[str]) -> str:
    """Whether an entry is a symlink, a directory, a regular file or something else."""
    if entry.is_symlink():
        return "link"
    if entry.is_dir(follow_symlinks=False):
        return "dir"
    return "file" if entry.is_file(follow_symlinks=False) else "other"


def _changed(entry: os.DirEntry[str], destination: Path) -> bool:
    """Whether the copy differs from the source file; copies keep mtimes, so they compare."""
    try:
        copied = destination.lstat()
    except FileNotFoundError:
        return True
    info = entry.stat(follow_symlinks=False)
    return (info.st_size, info.st_mtime_ns) != (copied.st_size, copied.st_mtime_ns)


def _remove(path: Path) -> None:
    """Delete whatever is at path (a directory with all it holds), if anything."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
