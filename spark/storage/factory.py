"""The blob store SPARK_STORAGE_URL names: a directory, or `s3://bucket/prefix`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from spark.config import Settings
from spark.storage.blobs import BlobStore
from spark.storage.local import LocalBlobs
from spark.storage.s3 import S3Blobs


def make_blobs(settings: Settings) -> BlobStore:
    """The storage adapter for settings.storage_url (the S3 one talks to
    settings.s3_endpoint_url, or AWS when it is unset)."""
    url = settings.storage_url
    if url.startswith("s3://"):
        parts = urlsplit(url)
        if not parts.netloc:
            raise ValueError(f"SPARK_STORAGE_URL={url} names no bucket (s3://bucket/prefix)")
        return S3Blobs(parts.netloc, parts.path.strip("/"), settings.s3_endpoint_url)
    if "://" in url and not url.startswith("file://"):
        raise ValueError(f"SPARK_STORAGE_URL={url}: a directory or s3://bucket/prefix")
    return LocalBlobs(Path(url.removeprefix("file://")))
