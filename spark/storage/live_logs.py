"""The log store every host shares: a running attempt's last lines in a Redis stream, its
older lines in stored chunks, and the whole log in storage once the attempt has ended.

A read asks one source: the stream when the offset lies within it (one XRANGE), else the
chunk holding the offset, else the whole log (one blob, streamed and skipped through, never
held in memory). A page may end at a chunk's end; the reader asks again from next_offset.
"""

from __future__ import annotations

import io
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import redis
from redis.exceptions import RedisError

from spark.config import Settings
from spark.errors import StorageUnavailable
from spark.storage.blobs import BlobStore
from spark.storage.log_writer import FIELD, LogKeys, LogLimits, StreamLogWriter, chunk_start
from spark.storage.logs import LogPage

Keep = Callable[[str], bool] | None
#: an XRANGE reply: (entry id, fields) pairs
Entries = list[tuple[bytes, dict[bytes, bytes]]]
#: how much of a stored log is read at a time while skipping to an offset
SKIP_BYTES = 1024 * 1024


def make_log_store(settings: Settings, blobs: BlobStore) -> LiveLogStore:
    """The log store on the configured Redis and blobs, shared by every API and build host."""
    client = redis.Redis.from_url(
        settings.require("redis_url"), socket_timeout=2.0, socket_connect_timeout=1.0
    )
    return LiveLogStore(client, blobs)


class LiveLogStore:
    """Job logs through Redis streams and the storage port."""

    def __init__(
        self, client: redis.Redis, blobs: BlobStore, limits: LogLimits | None = None
    ) -> None:
        self._client, self._blobs = client, blobs
        self._limits = limits or LogLimits()

    def open_writer(self, job_id: uuid.UUID, attempt: int = 1) -> StreamLogWriter:
        """A writer on a fresh log for the job, whose first line names the attempt."""
        try:
            return StreamLogWriter(
                self._client, self._blobs, LogKeys(job_id, attempt), self._limits
            )
        except (RedisError, OSError) as error:
            raise StorageUnavailable(f"job log not opened: {error}") from error

    def read(
        self,
        job_id: uuid.UUID,
        offset_lines: int = 0,
        keep: Keep = None,
        limit: int | None = None,
    ) -> LogPage | None:
        """Lines from raw line offset_lines on; only those keep accepts when it is given."""
        start = max(0, offset_lines)
        try:
            attempt = self._client.get(LogKeys(job_id).current)
            if attempt is not None:
                page = self._read_live(LogKeys(job_id, int(attempt)), start, keep, limit)
                if page is not None:
                    return page
        except (RedisError, OSError) as error:
            raise StorageUnavailable(f"job log unavailable: {error}") from error
        return self._read_whole(LogKeys(job_id), start, keep, limit)

    def remove(self, job_id: uuid.UUID) -> None:
        """Delete the job's log wherever it is (retention); nothing if it has none."""
        keys = LogKeys(job_id)
        try:
            attempt = int(self._client.get(keys.current) or 0)
            streams = [LogKeys(job_id, n).stream for n in range(1, attempt + 1)]
            self._client.delete(keys.current, *streams)
        except (RedisError, OSError) as error:
            raise StorageUnavailable(f"job log not removed: {error}") from error
        self._blobs.delete_prefix(keys.every_chunk)
        self._blobs.delete(keys.whole)

    def _read_live(
        self, keys: LogKeys, start: int, keep: Keep, limit: int | None
    ) -> LogPage | None:
        """From the attempt's stream or chunks; None once they are gone (the attempt ended)."""
        # Filtering may drop any number of lines: then the whole tail, which the cap bounds.
        count = limit if keep is None else None
        pipe = self._client.pipeline(transaction=False)
        pipe.xrevrange(keys.stream, count=1)
        pipe.xrange(keys.stream, min=f"{start + 1}-0", count=count)
        last, entries = pipe.execute()
        if not last:
            return None
        total = _number(last[0][0])
        if start >= total:
            return LogPage((), start, total)
        if entries and _number(entries[0][0]) == start + 1:
            return _page(_stream_lines(entries), start, keep, limit, total)
        # Older than the stream holds: the chunk the line is in.
        return self._read_chunk(keys, start, keep, limit, total)

    def _read_chunk(
        self, keys: LogKeys, start: int, keep: Keep, limit: int | None, total: int
    ) -> LogPage | None:
        before = [key for key in self._blobs.keys(keys.chunks) if chunk_start(key) <= start]
        if not before:
            return None
        key = before[-1]
        stream = self._blobs.read(key)
        if stream is None:
            return None
        with stream:
            return _page(_blob_lines(stream, chunk_start(key), start), start, keep, limit, total)

    def _read_whole(
        self, keys: LogKeys, start: int, keep: Keep, limit: int | None
    ) -> LogPage | None:
        info = self._blobs.head(keys.whole)
        if info is None:
            return None
        total = _lines_of(info.content_type)
        if start >= total:
            return LogPage((), start, total)
        stream = self._blobs.read(keys.whole)
        if stream is None:
            return None
        with stream:
            return _page(_blob_lines(stream, 0, start), start, keep, limit, total)


def _page(
    lines: Iterable[tuple[int, str]], start: int, keep: Keep, limit: int | None, total: int
) -> LogPage:
    """The page of numbered lines after start: up to limit kept ones, none past total."""
    kept: list[str] = []
    next_offset = start
    for number, line in lines:
        if number > total or (limit is not None and len(kept) >= limit):
            break
        next_offset = number
        if keep is None or keep(line):
            kept.append(line)
    return LogPage(tuple(kept), next_offset, total)


def _stream_lines(entries: Entries) -> Iterator[tuple[int, str]]:
    for entry_id, fields in entries:
        yield _number(entry_id), fields[FIELD].decode("utf-8", errors="replace")


def _blob_lines(stream: BinaryIO, first: int, start: int) -> Iterator[tuple[int, str]]:
    """The numbered lines after start of a stored part beginning after `first` lines."""
    rest = _skip_lines(stream, start - first)
    if rest is None:
        return
    number, head = start, b""
    for raw in itertools.chain(io.BytesIO(rest), stream):
        if not raw.endswith(b"\n"):
            # The skipped block ended inside this line: the stream holds its rest.
            head = raw
            continue
        number += 1
        yield number, (head + raw[:-1]).decode("utf-8", errors="replace")
        head = b""


def _skip_lines(stream: BinaryIO, count: int) -> bytes | None:
    """Read past count lines, only counting them (a 500 MB log is not split into lines to
    reach its end); what was read after them, or None if the part has fewer."""
    while block := stream.read(SKIP_BYTES):
        found = block.count(b"\n")
        if found >= count:
            return block.split(b"\n", count)[-1]
        count -= found
    return None if count > 0 else b""


def _number(entry_id: bytes) -> int:
    """The line number a stream entry id `n-0` stands for."""
    return int(entry_id.split(b"-", 1)[0])


def _lines_of(content_type: str) -> int:
    """The line count the whole log's media type carries (`…;lines=N`)."""
    for param in content_type.split(";"):
        name, _, value = param.strip().partition("=")
        if name == "lines":
            return int(value)
    raise StorageUnavailable(f"stored log without a line count: {content_type}")
