"""The storage port's local adapter: blobs as files under one directory (the embedded
default, `SPARK_STORAGE_URL=./var/storage`)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from spark.errors import StorageUnavailable
from spark.storage.blobs import BlobInfo

#: a write in progress: never listed, never read
_TEMP_SUFFIX = ".partial"
#: beside each blob, its SHA-256 and media type, written before the blob is renamed in
_META_SUFFIX = ".meta"


class LocalBlobs:
    """Files under root; a write goes to a temp file and is renamed into place when done."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, key: str, chunks: Iterable[bytes], content_type: str) -> BlobInfo:
        """Store the chunks as key, hashing on the way; atomic."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageUnavailable(f"storage directory not writable: {error}") from error
        # Unique per writer, so a retried attempt never writes into another's temp file.
        temp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{_TEMP_SUFFIX}")
        digest, size = hashlib.sha256(), 0
        try:
            with _storage_errors(key):
                out = temp.open("wb")
            with out:
                # The source's own errors (an unreadable build output) propagate as they
                # are: only the store's failures are an outage worth retrying.
                for chunk in chunks:
                    digest.update(chunk)
                    with _storage_errors(key):
                        out.write(chunk)
                    size += len(chunk)
                with _storage_errors(key):
                    out.flush()
                    os.fsync(out.fileno())
            info = BlobInfo(key, size, digest.hexdigest(), content_type)
            with _storage_errors(key):
                self._meta(path).write_text(f"{info.sha256} {content_type}\n", encoding="utf-8")
                temp.replace(path)
        finally:
            temp.unlink(missing_ok=True)
        return info

    def head(self, key: str) -> BlobInfo | None:
        """What is stored at key, or None."""
        path = self._path(key)
        try:
            size = path.stat().st_size
            sha256, content_type = self._meta(path).read_text(encoding="utf-8").split()
        except (OSError, ValueError):
            return None
        return BlobInfo(key, size, sha256, content_type)

    def read(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO | None:
        """key's bytes from start to end (exclusive), or None if absent."""
        try:
            stream = self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            return None
        if start == 0 and end is None:
            return stream
        return io.BufferedReader(_Window(stream, start, end))

    def keys(self, prefix: str) -> list[str]:
        """The complete blobs under prefix, sorted."""
        base = self._path(prefix) if prefix.strip("/") else self.root
        folder = base if base.is_dir() else base.parent
        if not folder.is_dir():
            return []
        found = []
        for path in folder.rglob("*"):
            name = path.name
            if not path.is_file() or name.endswith((_TEMP_SUFFIX, _META_SUFFIX)):
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                found.append(key)
        return sorted(found)

    def delete(self, key: str) -> None:
        """Remove key and its metadata, if there."""
        path = self._path(key)
        path.unlink(missing_ok=True)
        self._meta(path).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob under prefix; a prefix naming a folder removes the folder."""
        base = self._path(prefix)
        if prefix.endswith("/") and base.is_dir():
            shutil.rmtree(base, ignore_errors=True)
            return
        for key in self.keys(prefix):
            self.delete(key)

    def presign(self, key: str, expires_s: int, filename: str) -> str | None:
        """A directory has no URLs of its own: the API streams instead."""
        return None

    def check(self) -> None:
        """Raise StorageUnavailable unless root is a writable directory."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageUnavailable(f"storage directory {self.root}: {error}") from error
        if not os.access(self.root, os.W_OK):
            raise StorageUnavailable(f"storage directory {self.root} is not writable")

    def _path(self, key: str) -> Path:
        """The file for key; keys are SPARK's own, but a `..` must still never climb out."""
        parts = PurePosixPath(key).parts
        if not parts or any(part in ("..", "") or part.startswith("/") for part in parts):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root.joinpath(*parts)

    @staticmethod
    def _meta(path: Path) -> Path:
        return path.with_name(f".{path.name}{_META_SUFFIX}")


@contextlib.contextmanager
def _storage_errors(key: str) -> Iterator[None]:
    """The store's own OSErrors as StorageUnavailable."""
    try:
        yield
    except OSError as error:
        raise StorageUnavailable(f"writing {key} failed: {error}") from error


class _Window(io.RawIOBase):
    """A byte range of an open file, read like a file."""

    def __init__(self, stream: BinaryIO, start: int, end: int | None) -> None:
        self._stream = stream
        stream.seek(start)
        self._left = None if end is None else max(0, end - start)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = len(view) if self._left is None else min(len(view), self._left)
        data = self._stream.read(wanted)
        view[: len(data)] = data
        if self._left is not None:
            self._left -= len(data)
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()
