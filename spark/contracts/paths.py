"""Guardrails for every project path a user gives (CONTRACT §5)."""

from __future__ import annotations

import posixpath

MAX_CODE_BYTES = 200 * 1024


def check_project_path(
    value: str, *, roots: tuple[str, ...] = ("Assets/",), suffix: str = ""
) -> str:
    """Return value if it is a safe relative path under one of roots, else raise ValueError."""
    if "\x00" in value:
        raise ValueError("must not contain NUL")
    if "\\" in value:
        raise ValueError("must use forward slashes")
    if value.startswith("/") or (len(value) > 1 and value[1] == ":"):
        raise ValueError("must be a relative path")
    if any(part == ".." for part in value.split("/")):
        raise ValueError("must not contain '..'")
    if posixpath.normpath(value) != value:
        raise ValueError("must be a normalised path (no '.', '//' or trailing '/')")
    if not value.startswith(roots):
        raise ValueError(f"must be under {' or '.join(roots)}")
    if suffix and not value.endswith(suffix):
        raise ValueError(f"must end in {suffix}")
    if len(value) > 512:
        raise ValueError("must be at most 512 characters")
    return value
