"""Job artifacts: a storage port, and its local adapter (SPARK_ARTIFACT_DIR/<job id>/<name>)."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
#: how much of a file is read at a time, so a multi-GB player never sits in memory
CHUNK_BYTES = 1024 * 1024


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


class ArtifactStorage(Protocol):
    """Where jobs keep the files they produce; a local directory or an object store."""

    def put(self, job_id: uuid.UUID, name: str, data: bytes) -> Artifact:
        """Store data as the job's artifact name."""
        ...

    def put_file(self, job_id: uuid.UUID, name: str, source: Path) -> Artifact:
        """Store the file at source as the job's artifact name, streaming it."""
        ...

    def open(self, job_id: uuid.UUID, name: str) -> BinaryIO | None:
        """The job's artifact name opened for binary reading, or None if there is none."""
        ...

    def path(self, job_id: uuid.UUID, name: str) -> Path | None:
        """A local file holding the artifact, or None (missing, or not kept on local disk)."""
        ...

    def remove(self, job_id: uuid.UUID) -> None:
        """Delete every artifact of the job (retention); nothing if it has none."""
        ...


class ArtifactStore:
    """The local-directory adapter: a directory per job; writes are atomic (temp, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, job_id: uuid.UUID, name: str, data: bytes) -> Artifact:
        """Store data as the job's artifact name."""
        return self._write(job_id, name, [data])

    def put_file(self, job_id: uuid.UUID, name: str, source: Path) -> Artifact:
        """Store the file at source as the job's artifact name, one chunk at a time."""
        with source.open("rb") as stream:
            return self._write(job_id, name, iter(lambda: stream.read(CHUNK_BYTES), b""))

    def open(self, job_id: uuid.UUID, name: str) -> BinaryIO | None:
        """The job's artifact name opened for binary reading, or None if there is none."""
        found = self.path(job_id, name)
        return found.open("rb") if found is not None else None

    def path(self, job_id: uuid.UUID, name: str) -> Path | None:
        """The file of the job's artifact name, if it exists."""
        if not valid_name(name):
            return None
        found = self.root / str(job_id) / name
        return found if found.is_file() else None

    def remove(self, job_id: uuid.UUID) -> None:
        """Delete the job's folder of artifacts, if there is one."""
        shutil.rmtree(self.root / str(job_id), ignore_errors=True)

    def _write(self, job_id: uuid.UUID, name: str, chunks: Iterable[bytes]) -> Artifact:
        """Write chunks to a temp file, hashing on the way, then rename it into place."""
        if not valid_name(name):
            raise ValueError(f"not a valid artifact name: {name!r}")
        folder = self.root / str(job_id)
        folder.mkdir(parents=True, exist_ok=True)
        # Unique per writer, so a retried attempt never writes into another's temp file.
        temp = folder / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        digest, size = hashlib.sha256(), 0
        try:
            with temp.open("wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            temp.replace(folder / name)
        finally:
            temp.unlink(missing_ok=True)
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return Artifact(name, size, digest.hexdigest(), kind)
