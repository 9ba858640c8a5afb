"""The storage port's S3 adapter: blobs as objects in a bucket under a prefix, on AWS or any
S3-compatible server (`SPARK_STORAGE_URL=s3://bucket/prefix`, `SPARK_S3_ENDPOINT_URL`).

A write streams: a small body is one PutObject, a larger one a multipart upload of
CHUNK_BYTES parts, one part in memory at a time. The SHA-256 of the whole blob is computed
here on the way (S3's own multipart checksums are composites of the parts) and kept as the
object's `x-amz-meta-sha256`; each request also carries S3's SHA-256 checksum of its body,
which the server verifies. A failed multipart upload is aborted, and S3 lists an object only
once its upload completes, so nothing half-written is ever listed or read.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from spark.errors import StorageUnavailable
from spark.faults import pause_point
from spark.storage.blobs import CHUNK_BYTES, BlobInfo

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

log = logging.getLogger(__name__)

T = TypeVar("T")

#: S3 takes at most this many parts in one upload (80 GB at 8 MiB parts)
MAX_PARTS = 10_000
#: the most keys one DeleteObjects call removes
_DELETE_BATCH = 1000
#: what S3 (and moto, MinIO) answer for a key, or a bucket, that is not there
_MISSING = {"NoSuchKey", "404", "NotFound"}
_MISSING_BUCKET = {"NoSuchBucket"}


def client_config(connect_timeout_s: float = 2.0, read_timeout_s: float = 30.0) -> Config:
    """botocore settings for SPARK: a server that is down fails within seconds, not minutes.

    s3v4 because presigned URLs would otherwise be signed with SigV2 in us-east-1; path-style
    addressing so a custom endpoint (MinIO, moto) needs no DNS per bucket.
    """
    return Config(
        signature_version="s3v4",
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"max_attempts": 2, "mode": "standard"},
        s3={"addressing_style": "path"},
    )


class S3Blobs:
    """Objects under `prefix` in `bucket`; the bucket is made on first use only on a custom
    endpoint (a test server, MinIO): on AWS the bucket, its policy and region are the
    operator's."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        *,
        config: Config | None = None,
        part_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.part_bytes = part_bytes
        # Credentials and region come from the standard AWS variables and files.
        self._client: S3Client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, config=config or client_config()
        )
        self._bucket_ready = False

    def write(self, key: str, chunks: Iterable[bytes], content_type: str) -> BlobInfo:
        """Store the chunks as key: one PutObject if they fit a part, else multipart."""
        self._ensure_bucket()
        digest = hashlib.sha256()
        parts = _parts(chunks, self.part_bytes, digest)
        first = next(parts, b"")
        second = next(parts, None)
        if second is None:
            size = len(first)
            self._call(self._put, key, first, content_type, digest.hexdigest())
        else:
            size = self._multipart(key, [first, second], parts, content_type, digest)
        return BlobInfo(key, size, digest.hexdigest(), content_type)

    def head(self, key: str) -> BlobInfo | None:
        """What is stored at key, or None."""
        self._ensure_bucket()
        try:
            found = self._call(self._client.head_object, Bucket=self.bucket, Key=self._key(key))
        except _Missing:
            return None
        sha256 = found.get("Metadata", {}).get("sha256", "")
        kind = found.get("ContentType", "application/octet-stream")
        return BlobInfo(key, found["ContentLength"], sha256, kind)

    def read(self, key: str, start: int = 0, end: int | None = None) -> BinaryIO | None:
        """key's bytes from start to end (exclusive), a Range GET streamed as it is read."""
        self._ensure_bucket()
        if end is not None and end <= start:
            return None if self.head(key) is None else io.BytesIO(b"")
        ranged: dict[str, Any] = {}
        if start > 0 or end is not None:
            ranged["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            got = self._call(
                self._client.get_object, Bucket=self.bucket, Key=self._key(key), **ranged
            )
        except _Missing:
            return None
        except _EmptyRange:
            return io.BytesIO(b"")
        return io.BufferedReader(_Body(got["Body"], key), buffer_size=1 << 16)

    def keys(self, prefix: str) -> list[str]:
        """The complete objects under prefix, sorted (uploads in progress are never listed)."""
        self._ensure_bucket()
        return sorted(self._call(self._list, prefix))

    def delete(self, key: str) -> None:
        """Remove key, if it is there (S3 answers a delete of a missing key with success)."""
        self._ensure_bucket()
        self._call(self._client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def delete_prefix(self, prefix: str) -> None:
        """Remove every object under prefix, a thousand per request."""
        found = self.keys(prefix)
        for start in range(0, len(found), _DELETE_BATCH):
            batch = [{"Key": self._key(key)} for key in found[start : start + _DELETE_BATCH]]
            self._call(
                self._client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": batch, "Quiet": True},
            )

    def presign(self, key: str, expires_s: int, filename: str) -> str | None:
        """A GET URL for key that downloads as filename, valid for expires_s seconds."""
        params = {
            "Bucket": self.bucket,
            "Key": self._key(key),
            "ResponseContentDisposition": f'attachment; filename="{_quoted(filename)}"',
        }
        # Signing is local: no request, so nothing to fail but the credentials' lookup.
        url: str = self._call(
            self._client.generate_presigned_url, "get_object", Params=params, ExpiresIn=expires_s
        )
        return url

    def check(self) -> None:
        """One HEAD of the bucket (made first on a custom endpoint if it is missing)."""
        self._bucket_ready = False
        self._ensure_bucket()

    # -- writes ---------------------------------------------------------------------------

    def _put(self, key: str, body: bytes, content_type: str, sha256: str) -> None:
        self._client.put_object(
            Bucket=self.bucket,
            Key=self._key(key),
            Body=body,
            ContentType=content_type,
            Metadata={"sha256": sha256},
            ChecksumAlgorithm="SHA256",
        )

    def _multipart(
        self,
        key: str,
        first: list[bytes],
        rest: Iterator[bytes],
        content_type: str,
        digest: Any,
    ) -> int:
        """Upload the parts, then record the whole blob's SHA-256; abort on any failure."""
        full = self._key(key)
        started = self._call(
            self._client.create_multipart_upload,
            Bucket=self.bucket,
            Key=full,
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
        )
        upload_id = started["UploadId"]
        try:
            done, size = self._upload_parts(full, upload_id, [*first], rest)
            self._call(
                self._client.complete_multipart_upload,
                Bucket=self.bucket,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": done},
            )
        except BaseException:
            self._abort(full, upload_id)
            raise
        self._record_digest(full, content_type, digest.hexdigest(), size)
        return size

    def _upload_parts(
        self, full: str, upload_id: str, first: list[bytes], rest: Iterator[bytes]
    ) -> tuple[list[CompletedPartTypeDef], int]:
        done: list[CompletedPartTypeDef] = []
        size = 0
        for number, body in enumerate(_chain(first, rest), start=1):
            if number > MAX_PARTS:
                raise ValueError(f"a blob takes at most {MAX_PARTS} parts of {self.part_bytes}")
            sent = self._call(
                self._client.upload_part,
                Bucket=self.bucket,
                Key=full,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
                ChecksumAlgorithm="SHA256",
            )
            done.append(
                {
                    "PartNumber": number,
                    "ETag": sent["ETag"],
                    "ChecksumSHA256": sent["ChecksumSHA256"],
                }
            )
            size += len(body)
            if number == 1:
                # Where the outage tests stop the server: an upload half done.
                pause_point("storage_part_sent")
        return done, size

    def _record_digest(self, full: str, content_type: str, sha256: str, size: int) -> None:
        """Copy the object onto itself with its SHA-256 as metadata: a multipart upload's
        metadata is fixed when it starts, before the digest is known."""
        extra = {
            "Metadata": {"sha256": sha256},
            "MetadataDirective": "REPLACE",
            "ContentType": content_type,
        }
        source = {"Bucket": self.bucket, "Key": full}
        # One CopyObject up to 5 GiB; beyond, boto3's managed copy copies it in parts.
        if size <= 5 * 1024**3:
            self._call(
                self._client.copy_object,
                Bucket=self.bucket,
                Key=full,
                CopySource=source,
                **extra,
            )
        else:
            self._call(self._client.copy, source, self.bucket, full, ExtraArgs=extra)

    def _abort(self, full: str, upload_id: str) -> None:
        """Abort the upload so its parts are dropped; a failure here is only logged (a
        bucket lifecycle rule on incomplete uploads is the operator's last resort)."""
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
        except (BotoCoreError, ClientError):
            log.warning("could not abort the multipart upload of %s", full, exc_info=True)

    # -- plumbing -------------------------------------------------------------------------

    def _list(self, prefix: str) -> list[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(prefix) if prefix else self.prefix
        )
        cut = len(self.prefix)
        return [item["Key"][cut:] for page in pages for item in page.get("Contents", [])]

    def _ensure_bucket(self) -> None:
        """Check the bucket once per process (every operation calls this first); on a custom
        endpoint, create it if missing."""
        if self._bucket_ready:
            return
        try:
            self._call(self._client.head_bucket, Bucket=self.bucket)
        except _Missing:
            if self.endpoint_url is None:
                raise StorageUnavailable(f"the bucket {self.bucket} does not exist") from None
            self._create_bucket()
        self._bucket_ready = True

    def _create_bucket(self) -> None:
        try:
            self._call(self._client.create_bucket, Bucket=self.bucket)
        except StorageUnavailable as error:
            # Another process made it first.
            if "BucketAlreadyOwnedByYou" not in str(error):
                raise

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"not a storage key: {key!r}")
        return self.prefix + key

    def _call(self, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one S3 operation; connection failures, timeouts and server errors become
        StorageUnavailable, a missing key _Missing."""
        try:
            return operation(*args, **kwargs)
        except ClientError as error:
            translated = _translated(error, self.bucket)
            if isinstance(translated, StorageUnavailable) and "NoSuchBucket" in str(error):
                # A server that lost it (a fresh MinIO): look again, and make it, next time.
                self._bucket_ready = False
            raise translated from error
        except BotoCoreError as error:
            raise StorageUnavailable(f"object storage unreachable: {error}") from error


class _Missing(Exception):
    """The key is not there (a caller's None, never the API's error)."""


class _EmptyRange(Exception):
    """A range starting at or past the end of the object."""


def _translated(error: ClientError, bucket: str) -> Exception:
    """The exception for an S3 error answer."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code in _MISSING:
        return _Missing(code)
    if code == "InvalidRange":
        return _EmptyRange(code)
    if code in _MISSING_BUCKET:
        return StorageUnavailable(f"the bucket {bucket} does not exist")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return StorageUnavailable(f"object storage answered {status} {code}: {error}")


def _parts(chunks: Iterable[bytes], part_bytes: int, digest: Any) -> Iterator[bytes]:
    """The chunks regrouped into parts of part_bytes (the last one shorter), hashed on the
    way; only one part is held at a time."""
    buffer = bytearray()
    for chunk in chunks:
        digest.update(chunk)
        buffer += chunk
        while len(buffer) >= part_bytes:
            yield bytes(buffer[:part_bytes])
            del buffer[:part_bytes]
    if buffer:
        yield bytes(buffer)


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    """The parts already taken, then the rest, letting go of each once it is sent."""
    while first:
        yield first.pop(0)
    yield from rest


def _quoted(filename: str) -> str:
    """filename safe inside a quoted Content-Disposition parameter."""
    return "".join(c if c.isprintable() and c not in '"\\' else "_" for c in filename)


class _Body(io.RawIOBase):
    """An S3 response body read like a file; a connection lost mid-read is StorageUnavailable."""

    def __init__(self, body: Any, key: str) -> None:
        self._body = body
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data: bytes = self._body.read(len(view))
        except (BotoCoreError, OSError) as error:
            raise StorageUnavailable(f"reading {self._key} failed: {error}") from error
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
