"""Which directories a project may read: its source must lie under SPARK_SOURCE_ROOTS.

A project's `source_dir` (or `file://` git URL) is a path on the build machines, read with
the worker's rights: unchecked, anyone could build `/etc` or another tenant's project and
download what the build copied. So the path is resolved (symlinks followed, `..` gone) and
must lie under one of the roots, resolved too. `{user}` in a root stands for the caller (on
a builder, the project's owner), so each tenant can have a root of its own; a user name that
is not a plain file name gets no such root, so it can never climb out with `..` or `/`.
Unset, no local source is allowed at all. The API checks at registration; the builder checks
again before it reads anything, since a symlink can be swapped in after.

The roots' parents must not be writable by tenants: a root is resolved like the path, so a
tenant who could replace the root itself with a symlink would move it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

#: the setting this module enforces, as refusals name it
SETTING = "SPARK_SOURCE_ROOTS"
#: what a root says where the caller's user name goes
USER = "{user}"
#: user names `{user}` expands to: a plain file name, never `.`, `..` or hidden
_FILE_NAME = re.compile(r"[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]{0,127}")


class SourceRefused(Exception):
    """A local source SPARK will not read; the message says why and what to change."""


def roots_for(configured: Sequence[Path], user: str) -> list[Path]:
    """The configured roots as they apply to user, `{user}` expanded and each resolved."""
    roots = []
    for root in configured:
        text = str(root)
        if USER in text:
            if _FILE_NAME.fullmatch(user) is None:
                continue
            text = text.replace(USER, user)
        resolved = _resolve(text)
        if resolved is not None:
            roots.append(resolved)
    return roots


def place(path: str, configured: Sequence[Path] | None, user: str) -> Path:
    """path resolved, if it lies under one of user's roots; SourceRefused saying why not.

    Only the part of path that exists is resolved (the API may not see the farm's disks);
    the rest is taken as written, `..` removed.
    """
    if configured is None:
        raise SourceRefused(
            f"{SETTING} is not set, so no project may read a directory of the build machines; "
            "set it to the directories projects may lie under"
        )
    if not os.path.isabs(path):
        raise SourceRefused("must be an absolute path on the build machines")
    resolved = _resolve(path)
    if resolved is None:
        raise SourceRefused("cannot be resolved (a symlink loop, or a NUL)")
    roots = roots_for(configured, user)
    if not within(resolved, roots):
        allowed = ", ".join(str(root) for root in roots) or "none for this user name"
        raise SourceRefused(
            f"must lie under one of {SETTING} ({allowed}) once symlinks and .. are resolved; "
            f"it is {resolved}"
        )
    return resolved


def within(path: Path, roots: Sequence[Path]) -> bool:
    """Whether path is one of roots or inside one, compared component by component (so
    /srv/sources/alice2 is not inside /srv/sources/alice)."""
    return any(path.is_relative_to(root) for root in roots)


def _resolve(path: str) -> Path | None:
    """path with its symlinks followed and `..` removed, or None if that cannot be done."""
    try:
        return Path(path).resolve(strict=False)
    except (OSError, RuntimeError, ValueError):
        return None
