"""The preview cache on the real services: a file write through spark.projects.files changes the key;
the Redis adapter shares entries between processes and lets them expire."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from spark.db.executor import Database
from spark.domain.files import Author
from spark.kv.preview_cache import CachedPreview, PreviewRequest, RedisPreviewCache, files_digest
from spark.projects import files
from tests.integration.test_file_store import new_project

pytestmark = pytest.mark.integration

ENTRY = CachedPreview(uuid.uuid4(), "preview.jpg", "cd" * 32)


def key_of(db: Database, project_id: uuid.UUID) -> str:
    heads = files.heads(db, project_id)
    return PreviewRequest(
        "http://editor/mcp", project_id, files_digest(heads), None, None, 64, 64, "png"
    ).key()


def test_every_file_write_makes_a_new_key(db: Database) -> None:
    project = new_project(db)
    author = Author("alice")
    keys = [key_of(db, project)]
    files.write(db, project, "Assets/Scripts/A.cs", b"class A {}", author, "add")
    keys.append(key_of(db, project))
    files.write(db, project, "Assets/Scripts/A.cs", b"class A { int x; }", author, "edit")
    keys.append(key_of(db, project))
    files.write(db, project, "Assets/Scripts/A.cs", b"class A {}", author, "back")
    keys.append(key_of(db, project))
    assert len(set(keys)) == 4
    assert key_of(db, project) == keys[-1]  # and nothing else moves it


def test_redis_entries_are_seen_by_another_client_and_expire(redis_url: str) -> None:
    writer, reader = RedisPreviewCache(redis_url, ttl_s=1), RedisPreviewCache(redis_url)
    key = uuid.uuid4().hex
    writer.put(key, ENTRY)
    assert reader.get(key) == ENTRY
    with redis.Redis.from_url(redis_url) as client:
        assert 0 < int(client.ttl(f"spark:preview:{key}")) <= 1
    deadline = time.monotonic() + 3.0
    while reader.get(key) is not None:
        assert time.monotonic() < deadline, "the entry outlived its TTL"
        time.sleep(0.05)


def test_a_redis_that_is_away_is_a_miss_not_an_error() -> None:
    cache = RedisPreviewCache("redis://127.0.0.1:1/0")
    cache.put("k", ENTRY)
    assert cache.get("k") is None
