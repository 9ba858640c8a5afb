"""A builder's cache of Unity's Library/ per (project, target, Unity version)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from spark.domain.targets import BuildTarget


@dataclass(frozen=True)
class CacheKey:
    """Which Library/ a build can reuse: one project, one target, one editor version."""

    project_id: uuid.UUID
    target: BuildTarget
    unity_version: str


class LibraryCache:
    """Library/ folders kept under root, at most cap_bytes in all."""

    def __init__(self, root: Path, cap_bytes: int) -> None:
        self.root = root
        self.cap_bytes = cap_bytes

    def restore(self, key: CacheKey, workspace: Path) -> bool:
        """Put the cached Library/ for key into workspace; whether there was one (a hit)."""
        return False

    def save(self, key: CacheKey, workspace: Path) -> None:
        """Keep workspace's Library/ as key's entry, after a successful build only."""
