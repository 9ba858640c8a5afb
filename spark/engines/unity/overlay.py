"""SPARK's project files laid over a build workspace: each file's newest version replaces
what the project's source has at its path, so a build compiles what SPARK holds.

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
    """Write each file's bytes at its path in the workspace; `{path, version, sha256}` of each."""
    root = workspace.resolve()
    laid: list[dict[str, Any]] = []
    for file in files:
        target = _target(root, file.version.path)
        _clear(target)
        target.write_bytes(file.content)
        laid.append(
            {
                "path": file.version.path,
                "version": file.version.version,
                "sha256": file.version.sha256,
            }
        )
    return laid


def _target(root: Path, path: str) -> Path:
    """Where path goes under root, its folders made; refused if it would land outside root.

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
