"""Job artifacts: files a job produced, kept under SPARK_ARTIFACT_DIR/<job id>/<name>."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class Artifact:
    """One stored file."""

    name: str
    size: int
    sha256: str
    content_type: str

    def as_dict(self) -> dict[str, object]:
        """The JSON view listed on the job."""
        return {
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
        }


def valid_name(name: str) -> bool:
    """Whether name is a plain file name (no directories, no dot-files)."""
    return bool(_NAME.match(name)) and ".." not in name


class ArtifactStore:
    """A directory per job; writes are atomic (temp file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, job_id: uuid.UUID, name: str, data: bytes) -> Artifact:
        """Store data as the job's artifact name."""
        if not valid_name(name):
            raise ValueError(f"not a valid artifact name: {name!r}")
        folder = self.root / str(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".{name}.{os.getpid()}.tmp"
        temp.write_bytes(data)
        temp.replace(folder / name)
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Artifact(name, len(data), hashlib.sha256(data).hexdigest(), kind)

    def path(self, job_id: uuid.UUID, name: str) -> Path | None:
        """The file of the job's artifact name, if it exists."""
        if not valid_name(name):
            return None
        found = self.root / str(job_id) / name
        return found if found.is_file() else None
