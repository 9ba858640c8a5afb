"""The storage port's contract, held by both adapters: a directory and S3 (moto's server)."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from spark.errors import StorageUnavailable
from spark.storage.blobs import CHUNK_BYTES, BlobStore
from spark.storage.local import LocalBlobs
from spark.storage.s3 import S3Blobs
from tests.support.s3 import MotoServer

BUCKET = "spark-test"


def s3_blobs(server: MotoServer) -> S3Blobs:
    """An S3 store on the suite's server, under a prefix no other test uses."""
    return S3Blobs(BUCKET, f"contract/{uuid.uuid4().hex[:12]}", server.url)


@pytest.fixture(params=["directory", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """Each adapter in turn."""
    if request.param == "directory":
        return LocalBlobs(tmp_path / "storage")
    return s3_blobs(request.getfixturevalue("s3_server"))


def read_all(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    opened = store.read(key, start, end)
    assert opened is not None, key
    with opened:
        return opened.read()


def chunked(data: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


def test_a_written_blob_reads_back_whole_and_by_range_with_its_digest_and_type(
    blobs: BlobStore,
) -> None:
    data = os.urandom(300_000)
    info = blobs.write("jobs/a/1/player.apk", chunked(data, 70_000), "application/zip")
    assert (info.size, info.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert blobs.head("jobs/a/1/player.apk") == info
    assert read_all(blobs, "jobs/a/1/player.apk") == data
    assert read_all(blobs, "jobs/a/1/player.apk", 1000, 2000) == data[1000:2000]
    assert read_all(blobs, "jobs/a/1/player.apk", 299_990) == data[299_990:]
    assert read_all(blobs, "jobs/a/1/player.apk", 400_000) == b""


def test_an_empty_blob_is_stored_and_read(blobs: BlobStore) -> None:
    info = blobs.write("jobs/a/1/empty.txt", iter(()), "text/plain")
    assert info.size == 0 and info.sha256 == hashlib.sha256(b"").hexdigest()
    assert read_all(blobs, "jobs/a/1/empty.txt") == b""


def test_a_missing_key_is_none_and_its_delete_a_no_op(blobs: BlobStore) -> None:
    assert blobs.head("jobs/none/1/x") is None
    assert blobs.read("jobs/none/1/x") is None
    assert blobs.read("jobs/none/1/x", 5, 10) is None
    blobs.delete("jobs/none/1/x")
    blobs.delete_prefix("jobs/none/")
    assert blobs.keys("jobs/none/") == []


def test_keys_lists_blobs_under_a_prefix_and_delete_prefix_removes_only_those(
    blobs: BlobStore,
) -> None:
    for key in ("jobs/a/1/x.zip", "jobs/a/2/x.zip", "jobs/a/2/y.png", "jobs/ab/1/x.zip"):
        blobs.write(key, [key.encode()], "application/octet-stream")
    assert blobs.keys("jobs/a/") == ["jobs/a/1/x.zip", "jobs/a/2/x.zip", "jobs/a/2/y.png"]
    blobs.delete_prefix("jobs/a/2/")
    assert blobs.keys("jobs/a/") == ["jobs/a/1/x.zip"]
    blobs.delete_prefix("jobs/a/")
    assert blobs.keys("jobs/") == ["jobs/ab/1/x.zip"]
    blobs.delete("jobs/ab/1/x.zip")
    assert blobs.keys("jobs/") == []


def test_a_presigned_url_downloads_the_bytes_as_an_attachment(blobs: BlobStore) -> None:
    """S3 signs a URL that needs no credentials; a directory has none, and the API streams."""
    data = os.urandom(10_000)
    blobs.write("jobs/p/1/My Game.zip", [data], "application/zip")
    url = blobs.presign("jobs/p/1/My Game.zip", 300, "My Game.zip")
    if isinstance(blobs, LocalBlobs):
        assert url is None
        return
    assert url is not None and "X-Amz-Signature=" in url and "X-Amz-Algorithm=AWS4" in url
    got = httpx.get(url)
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-disposition"] == 'attachment; filename="My Game.zip"'


def test_a_write_whose_chunks_fail_midway_leaves_nothing_listed_or_open(
    blobs: BlobStore,
) -> None:
    """The failure comes after more than one part was sent: S3's multipart upload is
    aborted, so no object and no upload remain."""

    def failing() -> Iterator[bytes]:
        yield os.urandom(CHUNK_BYTES)
        yield os.urandom(CHUNK_BYTES)
        yield os.urandom(1024)
        raise RuntimeError("the build output went away")

    with pytest.raises(RuntimeError, match="output went away"):
        blobs.write("jobs/f/1/player.apk", failing(), "application/zip")
    assert blobs.keys("jobs/f/") == []
    assert blobs.head("jobs/f/1/player.apk") is None
    if isinstance(blobs, S3Blobs):
        assert open_uploads(blobs) == []


def open_uploads(store: S3Blobs) -> list[str]:
    """The keys of multipart uploads still open under the store's prefix."""
    found = store._client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix)
    return [upload["Key"] for upload in found.get("Uploads", [])]


def test_a_20_mb_blob_is_stored_in_parts_with_the_sha256_of_the_whole(blobs: BlobStore) -> None:
    data = os.urandom(20 * 1024 * 1024 + 123)
    info = blobs.write("jobs/big/1/player.apk", chunked(data), "application/vnd.android")
    assert info.size == len(data) and info.sha256 == hashlib.sha256(data).hexdigest()
    head = blobs.head("jobs/big/1/player.apk")
    assert head is not None and (head.size, head.sha256) == (info.size, info.sha256)
    assert head.content_type == "application/vnd.android"
    middle = 2 * CHUNK_BYTES - 10
    assert read_all(blobs, "jobs/big/1/player.apk", middle, middle + 20) == data[middle:][:20]
    if isinstance(blobs, S3Blobs):
        assert open_uploads(blobs) == []


def test_a_stopped_s3_server_is_storage_unavailable_within_seconds(
    s3_server: MotoServer,
) -> None:
    """Every call fails fast with StorageUnavailable (an API 503, a job's retry) while the
    server is down, and works again once it is back (a new bucket made on first use)."""
    store = s3_blobs(s3_server)
    store.write("jobs/o/1/x", [b"before"], "text/plain")
    s3_server.stop()
    try:
        for call in (
            lambda: store.write("jobs/o/1/y", [b"during"], "text/plain"),
            lambda: store.read("jobs/o/1/x"),
            lambda: store.keys("jobs/"),
            store.check,
        ):
            started = time.monotonic()
            with pytest.raises(StorageUnavailable):
                call()
            assert time.monotonic() - started < 5
    finally:
        s3_server.start()
    store.check()
    store.write("jobs/o/1/z", [b"after"], "text/plain")
    assert read_all(store, "jobs/o/1/z") == b"after"


def test_a_source_that_fails_to_read_is_its_own_error_not_a_storage_outage(
    tmp_path: Path,
) -> None:
    store = LocalBlobs(tmp_path / "store")

    def unreadable() -> Iterator[bytes]:
        yield b"first part"
        raise PermissionError("the build output cannot be read")

    with pytest.raises(PermissionError):
        store.write("jobs/x/1/player.apk", unreadable(), "application/octet-stream")
    assert store.keys("jobs/") == []
