"""Job logs across hosts: the suite's Redis for the live tail, a storage directory for the
whole log; every reader here is a store of its own, as on another API host."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from spark.engines.unity.build_log import is_compact
from spark.errors import StorageUnavailable
from spark.storage.live_logs import LiveLogStore
from spark.storage.local import LocalBlobs
from spark.storage.log_writer import LogKeys, LogLimits
from spark.storage.logs import LogPage
from tests.support.endings import wait_for
from tests.support.proxy import TcpProxy

WARNING = "Assets/Scripts/Coin.cs(3,7): warning CS0168: The variable 'x' is declared but never used"
#: chunks of 3 lines, so a short log is stored in several
SMALL = LogLimits(stream_lines=6, chunk_lines=3, batch_lines=2, ended_ttl_s=1)


@pytest.fixture
def client(spark_redis: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(spark_redis) as connection:
        yield connection


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobs:
    return LocalBlobs(tmp_path / "storage")


def host(spark_redis: str, blobs: LocalBlobs, limits: LogLimits | None = None) -> LiveLogStore:
    """A log store with its own Redis connections, as another host has."""
    return LiveLogStore(redis.Redis.from_url(spark_redis), blobs, limits)


def read_all(store: LiveLogStore, job_id: uuid.UUID, limit: int = 10_000) -> list[str]:
    """Every line of the log, page by page, as a follower reads it."""
    lines: list[str] = []
    offset = 0
    while True:
        page = store.read(job_id, offset, limit=limit)
        assert page is not None
        lines += page.lines
        if page.next_offset >= page.total_lines:
            return lines
        assert page.next_offset > offset
        offset = page.next_offset


def total(store: LiveLogStore, job_id: uuid.UUID) -> int:
    page = store.read(job_id)
    return 0 if page is None else page.total_lines


def test_a_line_written_on_a_builder_is_read_on_another_host_within_a_second(
    spark_redis: str, blobs: LocalBlobs
) -> None:
    builder, api = host(spark_redis, blobs), host(spark_redis, blobs)
    job_id = uuid.uuid4()
    with builder.open_writer(job_id, 1) as log:
        written = time.monotonic()
        log.write("Compiling shaders")
        wait_for(lambda: total(api, job_id) == 2, "the line on the other host", timeout=1.0)
        assert time.monotonic() - written < 1.0
        page = api.read(job_id)
        assert page == LogPage(("[spark] attempt 1", "Compiling shaders"), 2, 2)


def paging(store: LiveLogStore, job_id: uuid.UUID, lines: list[str]) -> None:
    """Offsets, limits and compact filtering, all by raw line numbers."""
    assert store.read(job_id) == LogPage(tuple(lines), len(lines), len(lines))
    assert store.read(job_id, offset_lines=5, limit=3) == LogPage(tuple(lines[5:8]), 8, len(lines))
    compact = store.read(job_id, keep=is_compact)
    assert compact == LogPage((WARNING, WARNING), len(lines), len(lines))
    first = store.read(job_id, keep=is_compact, limit=1)
    assert first is not None and first.lines == (WARNING,)
    assert lines[first.next_offset - 1] == WARNING
    after = store.read(job_id, offset_lines=first.next_offset, keep=is_compact, limit=1)
    assert after is not None and after.lines == (WARNING,) and after.next_offset == 9
    # A follower past the end (of an earlier, longer attempt) learns the log is shorter.
    assert store.read(job_id, offset_lines=50) == LogPage((), 50, len(lines))


def test_offset_limit_and_compact_count_raw_lines_while_live_and_after_close(
    spark_redis: str, blobs: LocalBlobs
) -> None:
    builder, api = host(spark_redis, blobs), host(spark_redis, blobs)
    job_id = uuid.uuid4()
    body = [f"line {n}" for n in range(1, 12)]
    body[3] = body[7] = WARNING
    lines = ["[spark] attempt 1", *body]
    with builder.open_writer(job_id, 1) as log:
        for line in body:
            log.write(line)
        wait_for(lambda: total(api, job_id) == len(lines), "every line")
        paging(api, job_id, lines)
    paging(api, job_id, lines)


def test_a_50000_line_log_keeps_the_stream_at_its_cap_and_every_line_readable_in_order(
    spark_redis: str, blobs: LocalBlobs, client: redis.Redis
) -> None:
    builder, api = host(spark_redis, blobs), host(spark_redis, blobs)
    job_id = uuid.uuid4()
    body = (
        WARNING if n % 1000 == 999 else f"[{n:05d}] Compiling {'x' * 40}" for n in range(50_000)
    )
    lines = ["[spark] attempt 1", *body]
    cap = LogLimits().stream_lines
    with builder.open_writer(job_id, 1) as log:
        for line in lines[1:]:
            log.write(line)
        wait_for(lambda: total(api, job_id) == len(lines), "every line in the stream")
        # MAXLEN ~ trims whole stream nodes (100 entries by default), never below the cap.
        assert cap <= client.xlen(LogKeys(job_id, 1).stream) < cap + 200
        assert len(blobs.keys(LogKeys(job_id, 1).chunks)) >= 3
        assert read_all(api, job_id) == lines
        from_chunk = api.read(job_id, offset_lines=12_345, limit=2)
        assert from_chunk == LogPage(tuple(lines[12_345:12_347]), 12_347, len(lines))
        warning = lines.index(WARNING, 12_345)
        compact = api.read(job_id, offset_lines=12_345, keep=is_compact, limit=1)
        assert compact == LogPage((WARNING,), warning + 1, len(lines))
    assert blobs.keys("logs/") == [f"logs/{job_id}.log"]
    assert read_all(api, job_id) == lines
    # Below the stream's lines (the chunks are gone): past the first MB of the stored log.
    deep = api.read(job_id, offset_lines=21_234, limit=3)
    assert deep == LogPage(tuple(lines[21_234:21_237]), 21_237, len(lines))


def test_after_close_the_log_is_one_object_and_its_redis_keys_expire(
    spark_redis: str, blobs: LocalBlobs, client: redis.Redis
) -> None:
    builder, api = host(spark_redis, blobs, SMALL), host(spark_redis, blobs, SMALL)
    job_id = uuid.uuid4()
    keys = LogKeys(job_id, 1)
    lines = ["[spark] attempt 1", *(f"line {n}" for n in range(20))]
    with builder.open_writer(job_id, 1) as log:
        for line in lines[1:]:
            log.write(line)
        wait_for(lambda: bool(blobs.keys(keys.chunks)), "a stored chunk")
    assert blobs.keys("logs/") == [keys.whole]
    stored = blobs.read(keys.whole)
    assert stored is not None
    with stored:
        assert stored.read().decode().splitlines() == lines
    assert read_all(api, job_id) == lines
    wait_for(lambda: not client.exists(keys.current, keys.stream), "the keys to expire")
    assert read_all(api, job_id, limit=7) == lines


def test_a_second_attempt_restarts_the_log_and_a_late_first_attempt_changes_nothing(
    spark_redis: str, blobs: LocalBlobs, client: redis.Redis
) -> None:
    first_builder = host(spark_redis, blobs, SMALL)
    second_builder, api = host(spark_redis, blobs, SMALL), host(spark_redis, blobs, SMALL)
    job_id = uuid.uuid4()
    late = first_builder.open_writer(job_id, 1)
    late.write("first try")
    wait_for(lambda: total(api, job_id) == 2, "the first attempt's line")
    second = ["[spark] attempt 2", *(f"second try {n}" for n in range(7))]
    with second_builder.open_writer(job_id, 2) as log:
        # A follower at line 2 of the first attempt sees fewer lines: a new attempt began.
        assert api.read(job_id, offset_lines=2) == LogPage((), 2, 1)
        for n in range(7):  # past two chunks, which the late writer must not disturb
            log.write(second[n + 1])
            late.write(f"late {n}")
        late.close()
        wait_for(lambda: total(api, job_id) == len(second), "the second attempt's lines")
        assert read_all(api, job_id, limit=2) == second
    assert read_all(api, job_id) == second
    assert blobs.keys("logs/") == [f"logs/{job_id}.log"]
    assert not client.exists(LogKeys(job_id, 1).stream)


def test_a_first_attempt_back_after_the_second_ended_changes_nothing(
    spark_redis: str, blobs: LocalBlobs, client: redis.Redis
) -> None:
    cut_off, builder = host(spark_redis, blobs, SMALL), host(spark_redis, blobs, SMALL)
    api = host(spark_redis, blobs, SMALL)
    job_id = uuid.uuid4()
    late = cut_off.open_writer(job_id, 1)
    late.write("first try")
    wait_for(lambda: total(api, job_id) == 2, "the first attempt's line")
    with builder.open_writer(job_id, 2) as log:
        log.write("second try")
    wait_for(lambda: not client.exists(LogKeys(job_id).current), "the keys to expire")
    for n in range(5):
        late.write(f"late {n}")
    late.close()
    assert read_all(api, job_id) == ["[spark] attempt 2", "second try"]
    assert blobs.keys("logs/") == [f"logs/{job_id}.log"]
    assert client.keys("spark:log:*") == []


def test_remove_deletes_the_live_tail_the_chunks_and_the_stored_log(
    spark_redis: str, blobs: LocalBlobs, client: redis.Redis
) -> None:
    store = host(spark_redis, blobs, SMALL)
    ended, running = uuid.uuid4(), uuid.uuid4()
    with store.open_writer(ended, 1) as log:
        log.write("done")
    log = store.open_writer(running, 1)
    for n in range(10):
        log.write(f"line {n}")
    wait_for(lambda: total(store, running) == 11, "every line")
    assert blobs.keys(LogKeys(running, 1).chunks)
    store.remove(ended)
    store.remove(running)
    # The writer of a removed log finds it is no longer current and stores nothing.
    log.close()
    assert store.read(ended) is None and store.read(running) is None
    assert blobs.keys("logs/") == [] and client.keys("spark:log:*") == []
    store.remove(uuid.uuid4())  # a job without a log


def test_lines_written_while_redis_is_unreachable_arrive_once_it_is_back_each_once(
    spark_redis: str, blobs: LocalBlobs, caplog: pytest.LogCaptureFixture
) -> None:
    server = redis.Redis.from_url(spark_redis).connection_pool.connection_kwargs
    proxy = TcpProxy("127.0.0.1", server["port"])
    proxied = redis.Redis("127.0.0.1", proxy.port, server["db"], socket_timeout=1.0)
    builder, api = LiveLogStore(proxied, blobs, SMALL), host(spark_redis, blobs)
    job_id = uuid.uuid4()
    lines = ["[spark] attempt 1", *(f"line {n}" for n in range(12))]
    try:
        with builder.open_writer(job_id, 1) as log:
            for line in lines[1:4]:
                log.write(line)
            wait_for(lambda: total(api, job_id) == 4, "the lines before the outage")
            proxy.cut()
            for line in lines[4:]:
                log.write(line)
            wait_for(lambda: "log lines wait" in caplog.text, "a flush to fail")
            assert total(api, job_id) == 4
            proxy.restore()
            wait_for(lambda: total(api, job_id) == len(lines), "the lines after the outage")
            assert read_all(api, job_id) == lines
    finally:
        proxy.close()
    assert read_all(api, job_id) == lines


def test_reading_without_redis_is_storage_unavailable(blobs: LocalBlobs) -> None:
    store = LiveLogStore(redis.Redis.from_url("redis://127.0.0.1:1/0"), blobs)
    with pytest.raises(StorageUnavailable):
        store.read(uuid.uuid4())
