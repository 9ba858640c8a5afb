"""A builder's cache of Unity's Library/ per (project, target, Unity version).

Layout under root: `entries/<project>_<target>_<version>/` holds `Library/` and `usage` (its
size in bytes and when it was last used, fixed-width); `staging/` holds a save in flight and
what a save replaced or evicted until it is deleted; `.lock` serializes the cache's users.

A restore copies the entry into the workspace (the entry stays as it was whatever the build
does); a save moves the workspace's Library/ in (a rename on one filesystem: no second copy of
gigabytes) and swaps it for the old entry, then evicts the least recently used entries until
the sizes add up to the cap. No operation follows a symbolic link inside a Library/: the
project's own editor scripts could have put it there.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from spark.domain.targets import BuildTarget

log = logging.getLogger(__name__)

LIBRARY = "Library"
#: Unity's version strings (2022.3.20f1, 6000.0.23f1), bounded: each is a path component
_UNITY_VERSION = re.compile(r"\d{4}\.\d{1,4}\.\d{1,4}[abfpx]\d{1,4}")
UNKNOWN_VERSION = "unknown"
_USAGE = "usage"
#: `<size> <last used, ns>`: fixed width, so a usage file's own size is known before it is written
_USAGE_FORMAT = "{:020d} {:020d}\n"
_USAGE_BYTES = len(_USAGE_FORMAT.format(0, 0))


@dataclass(frozen=True)
class CacheKey:
    """Which Library/ a build can reuse: one project, one target, one editor version."""

    project_id: uuid.UUID
    target: BuildTarget
    unity_version: str

    def __post_init__(self) -> None:
        # Each part becomes a path component: only values that cannot name another folder.
        if not isinstance(self.project_id, uuid.UUID):
            raise ValueError(f"project_id must be a UUID, not {self.project_id!r}")
        if not isinstance(self.target, BuildTarget):
            raise ValueError(f"target must be a BuildTarget, not {self.target!r}")
        version = self.unity_version
        if version != UNKNOWN_VERSION and not _UNITY_VERSION.fullmatch(version):
            raise ValueError(f"{version!r} is not a Unity version")

    @property
    def name(self) -> str:
        """The entry's folder name."""
        return f"{self.project_id}_{self.target.value}_{self.unity_version}"


def key_version(version: str | None) -> str:
    """version when it can key the cache (a Unity version string), else `unknown`."""
    if version is not None and _UNITY_VERSION.fullmatch(version):
        return version
    return UNKNOWN_VERSION


@dataclass(frozen=True)
class Entry:
    """One cached Library/: its folder, its size in bytes (usage file included), last use."""

    path: Path
    size: int
    last_used_ns: int


class LibraryCache:
    """Library/ folders kept under root, at most cap_bytes in all."""

    def __init__(self, root: Path, cap_bytes: int) -> None:
        self.root = root
        self.cap_bytes = cap_bytes
        self.entries_dir = root / "entries"
        self.staging_dir = root / "staging"

    def restore(self, key: CacheKey, workspace: Path) -> bool:
        """Put a copy of key's cached Library/ into workspace (a hit: True); without one the
        workspace has no Library/ (a miss: False), as on a fresh builder."""
        target = workspace / LIBRARY
        # Whatever is there may be half-written by a build killed mid-way: never reused.
        remove_library(workspace)
        entry = self.entries_dir / key.name
        try:
            with self._locked(fcntl.LOCK_SH):
                found = _read_usage(entry)
                if found is None:
                    return False
                shutil.copytree(entry / LIBRARY, target, symlinks=True, copy_function=_copy)
                _write_usage(entry, found.size, time.time_ns())
        except OSError as error:
            # An unreadable cache costs the build its warmth, never the build itself.
            log.warning("restoring %s failed, building cold: %s", entry, error)
            remove_library(workspace)
            return False
        return True

    def save(self, key: CacheKey, workspace: Path) -> int | None:
        """Move workspace's Library/ in as key's entry, after a successful build only; the
        bytes kept, or None when nothing was (no Library/, over the cap, a failed write)."""
        library = workspace / LIBRARY
        if library.is_symlink() or not library.is_dir():
            return None
        token = uuid.uuid4().hex
        try:
            with self._owned(token):
                return self._save(key, workspace, self.staging_dir / token)
        except OSError as error:
            # A full disk must not fail a build that succeeded: the next one is cold.
            log.warning("saving the Library cache for %s failed: %s", key.name, error)
            return None

    def _save(self, key: CacheKey, workspace: Path, incoming: Path) -> int | None:
        """Stage the Library/ in incoming, swap it in for key's entry and evict."""
        incoming.mkdir()
        # A rename on one filesystem; a copy and a delete across two.
        shutil.move(workspace / LIBRARY, incoming / LIBRARY)
        size = _tree_bytes(incoming / LIBRARY) + _USAGE_BYTES
        _write_usage(incoming, size, time.time_ns())
        entry = self.entries_dir / key.name
        with self._locked(fcntl.LOCK_EX):
            self._sweep()
            _set_aside(entry, incoming.with_name(f"{incoming.name}.old"))
            if size > self.cap_bytes:
                log.info("Library of %s is %d bytes, over the cache's cap", key.name, size)
                return None
            incoming.rename(entry)
            self._evict(keep=entry, trash=incoming.with_name(f"{incoming.name}.evicted"))
        return size

    def discard(self, workspace: Path) -> None:
        """Delete the workspace's Library/ after a build that did not succeed (it may be
        half-written); a failure to is only logged, the next restore tries again."""
        try:
            remove_library(workspace)
        except OSError as error:
            log.warning("removing %s failed: %s", workspace / LIBRARY, error)

    def entries(self) -> list[Entry]:
        """Every entry, least recently used first."""
        if not self.entries_dir.is_dir():
            return []
        found = (_read_usage(path) for path in self.entries_dir.iterdir())
        return sorted((entry for entry in found if entry), key=lambda e: e.last_used_ns)

    def _evict(self, keep: Path, trash: Path) -> None:
        """Set aside the least recently used entries but keep until the total fits the cap."""
        entries = self.entries()
        total = sum(entry.size for entry in entries)
        for index, entry in enumerate(e for e in entries if e.path != keep):
            if total <= self.cap_bytes:
                return
            log.info("evicting the Library cache entry %s (%d bytes)", entry.path.name, entry.size)
            _set_aside(entry.path, trash.with_name(f"{trash.name}-{index}"))
            total -= entry.size

    def _sweep(self) -> None:
        """Delete what saves left in staging/ when their process died, and entries that lost
        their usage file; called holding the cache's lock exclusively."""
        for token in {path.name.split(".", 1)[0] for path in self.staging_dir.iterdir()}:
            lock = self.staging_dir / f"{token}.lock"
            with _free(lock) as free:
                if free:
                    _remove_staged(self.staging_dir, token)
                    lock.unlink(missing_ok=True)
        for path in self.entries_dir.iterdir():
            if _read_usage(path) is None:
                shutil.rmtree(path, ignore_errors=True)

    @contextlib.contextmanager
    def _owned(self, token: str) -> Iterator[None]:
        """Hold staging's lock for token while a save runs, so a sweep leaves it alone; what
        the save staged is deleted at the end (outside the cache's lock)."""
        lock_path = self.staging_dir / f"{token}.lock"
        # Taken under the shared lock: a sweep (exclusive) never sees the file not yet locked.
        with self._locked(fcntl.LOCK_SH):
            self.staging_dir.mkdir(exist_ok=True)
            self.entries_dir.mkdir(exist_ok=True)
            lock = lock_path.open("a")
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            _remove_staged(self.staging_dir, token)
            lock_path.unlink(missing_ok=True)
            lock.close()

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        """The cache-wide lock, shared (restores) or exclusive (saves and eviction)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, mode)
            yield


def remove_library(workspace: Path) -> None:
    """Delete the workspace's Library/ (a failed build's may be half-written)."""
    target = workspace / LIBRARY
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)


def _set_aside(path: Path, trash: Path) -> None:
    """Rename path (if there) into staging, where its save deletes it outside the lock."""
    with contextlib.suppress(FileNotFoundError):
        path.rename(trash)


def _remove_staged(staging: Path, token: str) -> None:
    """Delete the folders a save with token staged or set aside."""
    for path in staging.glob(f"{token}*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _free(lock_path: Path) -> Iterator[bool]:
    """Whether no live save holds lock_path (its owner died), holding it meanwhile."""
    try:
        lock = lock_path.open("a")
    except OSError:
        yield False
        return
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _read_usage(entry: Path) -> Entry | None:
    """The entry at path from its usage file, or None when it has none (not an entry)."""
    try:
        size, used = (entry / _USAGE).read_text(encoding="ascii").split()
        return Entry(entry, int(size), int(used))
    except (OSError, ValueError):
        return None


def _write_usage(entry: Path, size: int, last_used_ns: int) -> None:
    """Record the entry's size and last use, replacing the old record in one rename."""
    temporary = entry / f"{_USAGE}.{uuid.uuid4().hex}"
    try:
        temporary.write_text(_USAGE_FORMAT.format(size, last_used_ns), encoding="ascii")
        temporary.replace(entry / _USAGE)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise


def _tree_bytes(root: Path) -> int:
    """The bytes of every file under root, links not followed."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            total += os.lstat(os.path.join(folder, name)).st_size
    return total


def _copy(source: str, destination: str) -> None:
    """Copy one file, sharing its blocks where the filesystem can (XFS, btrfs reflinks)."""
    # copy_file_range lets a copy-on-write filesystem clone a multi-GB Library for free.
    if not hasattr(os, "copy_file_range"):  # macOS builders
        shutil.copy2(source, destination)
        return
    try:
        with open(source, "rb") as src, open(destination, "wb") as dst:
            size = os.fstat(src.fileno()).st_size
            while size > 0:
                copied = os.copy_file_range(src.fileno(), dst.fileno(), size)
                if copied == 0:
                    # Some filesystems answer 0 instead of an error: copy the plain way.
                    raise OSError(errno.EINVAL, "copy_file_range copied nothing")
                size -= copied
    except OSError:
        shutil.copyfile(source, destination)
    shutil.copystat(source, destination)
