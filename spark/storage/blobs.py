"""The storage port: named blobs (artifacts, logs, frames, packages, exports) in a local
directory or an S3-compatible object store, one interface for both.

Keys are `/`-separated relative paths chosen by SPARK (`jobs/<id>/<attempt>/<name>`), never by
a caller. A write is atomic: until its last byte is stored nothing under its key is listed or
readable, so a reader never meets half an artifact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

#: how much is read or written at a time, so a multi-GB player never sits in memory
CHUNK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class BlobInfo:
    """One stored blob: its key, size in bytes, SHA-256 (hex) and media type."""

    key: str
    size: int
    sha256: str
    content_type: str


class BlobStore(Protocol):
    """Where SPARK keeps what jobs produce. Every method raises StorageUnavailable (a
    DependencyUnavailable: the API answers 503, a job retries) when the store cannot be
    reached; a missing key is None or a no-op, never an error."""

    def write(self, key: str, chunks: Iterable[bytes], content_type: str) -> BlobInfo:
        """Store the chunks as key, streaming (multipart on S3), hashing on the way."""
        ...

    def head(self, key: str) -> BlobInfo | None:
        """What is stored at key, or None."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO | None:
        """key's bytes from start to end (exclusive; None: to the end), or None if absent."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """The complete blobs under prefix, sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove key, if it is there."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob under prefix (a job's files at retention)."""
        ...

    def presign(self, key: str, expires_s: int, filename: str) -> str | None:
        """A URL that downloads key as filename for expires_s seconds without SPARK's
        credentials; None when the store has no such URLs (a local directory)."""
        ...

    def check(self) -> None:
        """Raise StorageUnavailable unless the store answers (health)."""
        ...
