"""The preview cache: a rendered frame remembered for a few minutes, keyed by everything
that could change it.

The key covers the project, a digest of every one of its file heads (path, version and
sha256, so any write, even one restoring earlier bytes, makes a new key), the editor,
scene, camera, size and format. The value is not the image but where one lies: the job
and artifact that hold it (with the attempt that stored it: artifacts are kept per attempt),
and its SHA-256. A hit is copied from there and checked against the digest; an artifact
gone (retention) is a miss. That keeps
multi-megabyte frames out of Redis and lets one worker reuse another's render.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import redis

from spark.domain.files import FileHead

log = logging.getLogger(__name__)

#: how long a frame is reused (CONTRACT: previews are cached; the editor may change
#: things SPARK does not track, such as play mode, so not for long)
TTL_S = 300
PREFIX = "spark:preview:"


@dataclass(frozen=True)
class PreviewRequest:
    """What a preview depends on."""

    editor_url: str
    project_id: uuid.UUID | None
    #: files_digest(heads) of the project's files; "" without a project
    files: str
    scene: str | None
    camera: str | None
    width: int
    height: int
    format: str

    def key(self) -> str:
        """The cache key: a digest of every field, so no field can collide with another."""
        fields = [
            self.editor_url,
            str(self.project_id or ""),
            self.files,
            self.scene or "",
            self.camera or "",
            str(self.width),
            str(self.height),
            self.format,
        ]
        return hashlib.sha256(json.dumps(fields).encode()).hexdigest()


@dataclass(frozen=True)
class CachedPreview:
    """Where a cached frame lies, and the SHA-256 its bytes must have."""

    job_id: uuid.UUID
    artifact: str
    sha256: str
    #: the attempt of job_id whose artifact it is
    attempt: int = 1

    def encode(self) -> str:
        return json.dumps(
            {
                "job_id": str(self.job_id),
                "artifact": self.artifact,
                "sha256": self.sha256,
                "attempt": self.attempt,
            }
        )

    @staticmethod
    def decode(raw: str | bytes) -> CachedPreview:
        value = json.loads(raw)
        # An entry written before attempts were recorded names the first attempt's frame.
        attempt = int(value.get("attempt", 1))
        return CachedPreview(
            uuid.UUID(value["job_id"]), value["artifact"], value["sha256"], attempt
        )


def files_digest(heads: Iterable[FileHead]) -> str:
    """One digest of a project's file heads; it changes with any write to any file."""
    digest = hashlib.sha256()
    for head in sorted(heads, key=lambda h: h.path):
        digest.update(f"{head.path}\0{head.version}\0{head.sha256}\n".encode())
    return digest.hexdigest()


class PreviewCache(Protocol):
    """Remembers where the frame for a key lies, for TTL_S."""

    def get(self, key: str) -> CachedPreview | None:
        """The entry for key, or None (unknown, expired, or the store is away)."""
        ...

    def put(self, key: str, entry: CachedPreview) -> None:
        """Remember entry for key; never raises (a cache that is away only costs a render)."""
        ...


class RedisPreviewCache:
    """One Redis string per key, expiring after ttl_s, shared by every worker."""

    def __init__(self, url: str, ttl_s: int = TTL_S) -> None:
        self._ttl_s = ttl_s
        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    def get(self, key: str) -> CachedPreview | None:
        try:
            raw = self._redis.get(PREFIX + key)
        except (redis.RedisError, OSError):
            log.warning("preview cache unavailable; rendering without it", exc_info=True)
            return None
        return None if raw is None else CachedPreview.decode(raw)

    def put(self, key: str, entry: CachedPreview) -> None:
        try:
            self._redis.set(PREFIX + key, entry.encode(), ex=self._ttl_s)
        except (redis.RedisError, OSError):
            log.warning("preview cache unavailable; frame not remembered", exc_info=True)
