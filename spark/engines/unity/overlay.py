"""SPARK's project files laid over a build workspace: each file's newest version replaces
what the project's source has at its path, so a build compiles what SPARK holds; a path
whose newest version is a tombstone is removed, so a file deleted in SPARK is not built
even where the source still has it.

The next sync puts the source back (a directory mirror copies every file whose size or
mtime differs, git checks out and cleans), so nothing laid over outlives its build.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from spark.domain.files import StoredFile
from spark.errors import JobFailure


def lay_over(workspace: Path, files: Iterable[StoredFile]) -> list[dict[str, Any]]:
    """Write each file's bytes at its path in the workspace (remove the path for a tombstone);
    `{path, version, sha256}` of each, with `deleted: true` for a removal."""
    root = workspace.resolve()
    laid: list[dict[str, Any]] = []
    for file in files:
        v = file.version
        target = _target(root, v.path, make_folders=not v.deleted)
        _clear(target)
        if v.deleted:
            target.unlink(missing_ok=True)
            laid.append({"path": v.path, "version": v.version, "sha256": v.sha256, "deleted": True})
            continue
        target.write_bytes(file.content)
        laid.append({"path": v.path, "version": v.version, "sha256": v.sha256})
    return laid


def _target(root: Path, path: str, *, make_folders: bool = True) -> Path:
    """Where path goes under root, its folders made (when asked); refused if it would land
    outside root.

    The store only holds paths under Assets/, Packages/ and ProjectSettings/, but a source
    directory may hold symlinks, and writing through one could change the user's files
    outside the workspace.
    """
    unsafe = path.startswith("/") or "\\" in path or ".." in path.split("/")
    if unsafe or posixpath.normpath(path) != path:
        raise _refused(path)
    target = root / path
    # Resolved before any folder is made: a symlinked folder must not have one made through it.
    if not target.parent.resolve().is_relative_to(root):
        raise _refused(path)
    if make_folders:
        target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _clear(target: Path) -> None:
    """Remove whatever the source put at target, so the write replaces it rather than
    following a symlink or failing on a folder."""
    if target.is_symlink():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    elif target.exists() and not os.access(target, os.W_OK):
        target.unlink()  # a read-only copy from the source would refuse the write


def _refused(path: str) -> JobFailure:
    return JobFailure(
        "project_source_unavailable",
        f"the project file {path!r} would land outside the build workspace",
        {"path": path},
    )
