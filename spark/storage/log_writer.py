"""The live log writer: each line reaches a Redis stream within ~100 ms, so a reader on any API
host follows it, and the whole log reaches storage in chunks as it grows, then as one object.

Line n of an attempt's log is stream entry `n-0`: a retried XADD of a line already there is
refused by Redis rather than stored twice, and a reader asks for the lines after its offset
with one XRANGE.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import redis
from redis.exceptions import RedisError, ResponseError

from spark.errors import StorageUnavailable
from spark.storage.blobs import CHUNK_BYTES, BlobStore

log = logging.getLogger(__name__)

#: the stream entry field holding the line's UTF-8 bytes
FIELD = b"l"
#: what the whole log is stored as; `lines=` lets a reader know the total without reading it
CONTENT_TYPE = "text/plain;charset=utf-8;lines={lines}"

#: open an attempt's log unless a later attempt already has one: name it the current attempt,
#: drop the previous one's stream and start its own with its first line. Returns 0 when the
#: attempt is outdated.
_OPEN_LUA = """
local current = tonumber(redis.call('GET', KEYS[1]))
if current and current > tonumber(ARGV[1]) then return 0 end
if current then redis.call('DEL', KEYS[1] .. ':' .. current) end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('DEL', KEYS[2])
redis.call('XADD', KEYS[2], '1-0', 'l', ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""
#: let an ended attempt's keys go soon; the current-attempt key only while it still names it
_EXPIRE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""


@dataclass(frozen=True)
class LogKeys:
    """Where one job's log lives, in Redis and in storage (attempt 0: the job as a whole)."""

    job_id: uuid.UUID
    attempt: int = 0

    @property
    def current(self) -> str:
        """The Redis key naming the attempt whose log is live."""
        return f"spark:log:{self.job_id}"

    @property
    def stream(self) -> str:
        """The attempt's Redis stream: the last lines of its log."""
        return f"spark:log:{self.job_id}:{self.attempt}"

    @property
    def chunks(self) -> str:
        """The storage prefix of the attempt's chunks while it runs."""
        return f"logs/{self.job_id}/{self.attempt}/"

    @property
    def every_chunk(self) -> str:
        """The storage prefix of every attempt's chunks."""
        return f"logs/{self.job_id}/"

    @property
    def whole(self) -> str:
        """The storage key of the whole log once the attempt has ended."""
        return f"logs/{self.job_id}.log"

    def chunk(self, start: int) -> str:
        """The chunk whose first line comes after start lines (zero-padded: sorted in order)."""
        return f"{self.chunks}{start:012d}.part"


def chunk_start(key: str) -> int:
    """How many lines come before the chunk stored at key."""
    return int(key.rsplit("/", 1)[1].removesuffix(".part"))


@dataclass(frozen=True)
class LogLimits:
    """How much of a log Redis holds and how often lines move on."""

    #: the stream keeps about this many last lines (XADD MAXLEN ~): a 500 MB log must not
    #: fill Redis. Above chunk_lines + batch_lines, so a line leaves the stream only once
    #: its chunk is stored.
    stream_lines: int = 20_000
    chunk_lines: int = 10_000
    chunk_bytes: int = 4 * 1024 * 1024
    #: readers see a line within about this long of its write
    flush_s: float = 0.1
    batch_lines: int = 2_000
    #: a live attempt's keys outlive the longest build; a builder that vanished leaves none
    live_ttl_s: int = 24 * 3600
    #: an ended attempt's keys stay this long for readers that were following them
    ended_ttl_s: int = 300
    #: lines kept while Redis or storage cannot be reached (sent once they can, or dropped
    #: once a later attempt is found to own the log); past this many the build fails
    max_pending_lines: int = 500_000
    #: how long closing tries to store the end of the log before failing the build
    close_within_s: float = 30.0

    def __post_init__(self) -> None:
        if self.stream_lines <= self.chunk_lines + self.batch_lines:
            raise ValueError("stream_lines must exceed chunk_lines + batch_lines")


class _Chunk:
    """Lines sent to the stream but not yet stored, from line start + 1 on."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.lines: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> None:
        self.lines.append(data)
        self.size += len(data) + 1

    def full(self, limits: LogLimits) -> bool:
        return len(self.lines) >= limits.chunk_lines or self.size >= limits.chunk_bytes

    def body(self) -> Iterator[bytes]:
        yield b"".join(line + b"\n" for line in self.lines)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", errors="replace")


class StreamLogWriter:
    """Writes one attempt's log: a flusher thread sends pending lines every flush_s."""

    def __init__(
        self, client: redis.Redis, blobs: BlobStore, keys: LogKeys, limits: LogLimits
    ) -> None:
        self._client, self._blobs, self._keys, self._limits = client, blobs, keys, limits
        self._mine = str(keys.attempt).encode()
        # The build's reader thread writes while the main thread may add its own lines.
        self._lock = threading.Lock()
        # One flush at a time: the flusher's or close's.
        self._io = threading.Lock()
        self._pending: list[bytes] = []
        first = _encode(f"[spark] attempt {keys.attempt}")
        self._sent = 1
        self._chunk = _Chunk(0)
        self._chunk.add(first)
        self._stored_whole = False
        self._stop = threading.Event()
        opened = self._client.register_script(_OPEN_LUA)
        self._fenced = not opened(
            keys=[keys.current, keys.stream], args=[keys.attempt, first, limits.live_ttl_s]
        )
        if not self._fenced:
            # A new attempt starts the log afresh: no chunk of an earlier one may join it.
            self._blobs.delete_prefix(keys.every_chunk)
        self._flusher = threading.Thread(target=self._run, name="spark-log-flush", daemon=True)
        self._flusher.start()

    def write(self, line: str) -> None:
        """Append one line; embedded line breaks become separate lines."""
        if self._fenced:
            return
        text = line.rstrip("\r\n").replace("\r\n", "\n").replace("\r", "\n")
        with self._lock:
            if len(self._pending) >= self._limits.max_pending_lines:
                raise StorageUnavailable(f"job log not stored: {len(self._pending)} lines wait")
            self._pending.extend(_encode(part) for part in text.split("\n"))

    def close(self, patient: bool = True) -> None:
        """Send what is left and store the whole log as one object; the keys then expire.
        patient: keep trying for a while through a short outage; else try once."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._flusher.join()
        deadline = time.monotonic() + (self._limits.close_within_s if patient else 0.0)
        while True:
            try:
                self._finish()
                return
            except (RedisError, OSError, StorageUnavailable) as error:
                if time.monotonic() >= deadline:
                    raise StorageUnavailable(f"job log not stored: {error}") from error
            # A short outage while the build ends must not cost the build.
            time.sleep(self._limits.flush_s)

    def __enter__(self) -> StreamLogWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            self.close()
            return
        # The build's own error says more than a storage failure while closing would; and
        # the attempt that failed is over: a retry starts a log of its own, so waiting out an
        # outage here would only hold the job back from its requeue.
        try:
            self.close(patient=False)
        except StorageUnavailable:
            log.warning("job %s: log not stored after the build failed", self._keys.job_id)

    def _run(self) -> None:
        waiting = False
        while not self._stop.wait(self._limits.flush_s):
            try:
                self._flush()
            except (RedisError, OSError, StorageUnavailable) as error:
                # The build goes on: its lines wait and are sent again under the same ids
                # (never stored twice); a builder cut off for good is fenced once back.
                if not waiting:
                    log.warning("job %s: log lines wait: %s", self._keys.job_id, error)
                waiting = True
            else:
                waiting = False

    def _flush(self) -> None:
        """Send pending lines batch by batch, storing each chunk as it fills."""
        with self._io:
            # Before sending more: the stream drops its oldest lines, which must be stored.
            self._store_full_chunk()
            while not self._fenced:
                with self._lock:
                    batch = self._pending[: self._limits.batch_lines]
                if not batch:
                    return
                self._send(batch)
                with self._lock:
                    del self._pending[: len(batch)]
                self._sent += len(batch)
                for data in batch:
                    self._chunk.add(data)
                self._store_full_chunk()

    def _send(self, batch: list[bytes]) -> None:
        """XADD the batch in one transaction, learning whether this attempt is still current."""
        stream = self._keys.stream
        pipe = self._client.pipeline(transaction=True)
        pipe.get(self._keys.current)
        for number, data in enumerate(batch, start=self._sent + 1):
            fields: dict[Any, Any] = {FIELD: data}
            pipe.xadd(stream, fields, id=f"{number}-0", maxlen=self._limits.stream_lines)
        pipe.expire(stream, self._limits.live_ttl_s)
        current, *results = pipe.execute(raise_on_error=False)
        for result in results:
            # A line a failed flush had sent already is refused, not stored twice.
            if isinstance(result, Exception) and not _already_sent(result):
                raise result
        if current != self._mine:
            self._fence()

    def _store_full_chunk(self) -> None:
        if self._fenced or not self._chunk.full(self._limits):
            return
        if not self._is_current():
            self._fence()
            return
        chunk = self._chunk
        self._blobs.write(self._keys.chunk(chunk.start), chunk.body(), "text/plain")
        self._chunk = _Chunk(chunk.start + len(chunk.lines))

    def _finish(self) -> None:
        """Send the rest, then store the chunks and the rest as one object, streamed; then the
        chunks go and the keys expire. Each step may run again after a failure."""
        self._flush()
        if self._fenced:
            return
        if not self._is_current():
            self._fence()
            return
        if not self._stored_whole:
            kind = CONTENT_TYPE.format(lines=self._sent)
            self._blobs.write(self._keys.whole, self._whole(), kind)
            # Only once: the chunks it was made of are deleted next.
            self._stored_whole = True
        self._blobs.delete_prefix(self._keys.chunks)
        expire = self._client.register_script(_EXPIRE_LUA)
        keys = [self._keys.current, self._keys.stream]
        expire(keys=keys, args=[self._keys.attempt, self._limits.ended_ttl_s])

    def _whole(self) -> Iterator[bytes]:
        for key in self._blobs.keys(self._keys.chunks):
            stream = self._blobs.read(key)
            if stream is None:
                raise StorageUnavailable(f"log chunk {key} is gone")
            with stream:
                while data := stream.read(CHUNK_BYTES):
                    yield data
        yield from self._chunk.body()

    def _is_current(self) -> bool:
        return bool(self._client.get(self._keys.current) == self._mine)

    def _fence(self) -> None:
        """A later attempt owns the log: this one stops and leaves nothing behind."""
        log.warning("job %s: attempt %d's log is outdated", self._keys.job_id, self._keys.attempt)
        self._fenced = True
        self._client.delete(self._keys.stream)
        self._blobs.delete_prefix(self._keys.chunks)


def _already_sent(error: Exception) -> bool:
    return isinstance(error, ResponseError) and "equal or smaller" in str(error)
