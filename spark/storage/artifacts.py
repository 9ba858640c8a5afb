"""Job artifacts on the storage port: `jobs/<job id>/<attempt>/<name>` in a BlobStore.

Keyed by attempt: a builder cut off mid-build that comes back late writes under its own
attempt, never over the artifacts of the attempt that ended the job, and the job's result
names the attempt whose files it lists.
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from spark.storage.blobs import CHUNK_BYTES, BlobInfo, BlobStore

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class Artifact:
    """One stored file of one attempt of a job."""

    name: str
    size: int
    sha256: str
    content_type: str
    attempt: int

    def as_dict(self) -> dict[str, object]:
        """The JSON view listed on the job (CONTRACT §4's fields, and the attempt)."""
        return {
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "attempt": self.attempt,
        }


def valid_name(name: str) -> bool:
    """Whether name is a plain file name (no directories, no dot-files)."""
    return bool(_NAME.match(name)) and ".." not in name


def job_prefix(job_id: uuid.UUID) -> str:
    """Where every artifact of the job lies."""
    return f"jobs/{job_id}/"


def artifact_key(job_id: uuid.UUID, attempt: int, name: str) -> str:
    """The storage key of one attempt's artifact."""
    if not valid_name(name):
        raise ValueError(f"not a valid artifact name: {name!r}")
    return f"{job_prefix(job_id)}{attempt}/{name}"


class ArtifactStorage(Protocol):
    """Where jobs keep the files they produce, per attempt."""

    def put(self, job_id: uuid.UUID, attempt: int, name: str, data: bytes) -> Artifact:
        """Store data as the attempt's artifact name."""
        ...

    def put_file(self, job_id: uuid.UUID, attempt: int, name: str, source: Path) -> Artifact:
        """Store the file at source as the attempt's artifact name, streaming it."""
        ...

    def open(
        self, job_id: uuid.UUID, attempt: int, name: str, start: int = 0, end: int | None = None
    ) -> BinaryIO | None:
        """The artifact's bytes from start to end (exclusive) for reading, or None."""
        ...

    def presign(self, job_id: uuid.UUID, attempt: int, name: str, expires_s: int) -> str | None:
        """A URL downloading the artifact without SPARK's credentials, or None (a directory)."""
        ...

    def remove(self, job_id: uuid.UUID) -> None:
        """Delete every artifact of every attempt of the job (retention)."""
        ...

    def discard(self, job_id: uuid.UUID, attempt: int) -> None:
        """Delete the artifacts of an attempt that did not end the job."""
        ...


class Artifacts:
    """The artifact port over any BlobStore (a directory or S3)."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def put(self, job_id: uuid.UUID, attempt: int, name: str, data: bytes) -> Artifact:
        """Store data as the attempt's artifact name."""
        return self._write(job_id, attempt, name, [data])

    def put_file(self, job_id: uuid.UUID, attempt: int, name: str, source: Path) -> Artifact:
        """Store the file at source, one chunk at a time, so a multi-GB player never sits in
        memory."""
        with source.open("rb") as stream:
            chunks = iter(lambda: stream.read(CHUNK_BYTES), b"")
            return self._write(job_id, attempt, name, chunks)

    def open(
        self, job_id: uuid.UUID, attempt: int, name: str, start: int = 0, end: int | None = None
    ) -> BinaryIO | None:
        """The artifact's bytes from start to end (exclusive) for reading, or None."""
        if not valid_name(name):
            return None
        return self.blobs.read(artifact_key(job_id, attempt, name), start, end)

    def presign(self, job_id: uuid.UUID, attempt: int, name: str, expires_s: int) -> str | None:
        """A URL downloading the artifact as name, or None where the store has none."""
        return self.blobs.presign(artifact_key(job_id, attempt, name), expires_s, name)

    def remove(self, job_id: uuid.UUID) -> None:
        """Delete every artifact of the job."""
        self.blobs.delete_prefix(job_prefix(job_id))

    def discard(self, job_id: uuid.UUID, attempt: int) -> None:
        """Delete one attempt's artifacts (its end was refused: another attempt owns the job)."""
        self.blobs.delete_prefix(f"{job_prefix(job_id)}{attempt}/")

    def _write(
        self, job_id: uuid.UUID, attempt: int, name: str, chunks: Iterable[bytes]
    ) -> Artifact:
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        info: BlobInfo = self.blobs.write(artifact_key(job_id, attempt, name), chunks, kind)
        return Artifact(name, info.size, info.sha256, info.content_type, attempt)
