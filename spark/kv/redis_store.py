"""The Redis adapter: every process and machine sees the same breaker state."""

from __future__ import annotations

from collections.abc import Callable

import redis

from spark.domain.breakers import BreakerRecord, BreakerState

PREFIX = "spark:breaker:"


def _decode(raw: dict[bytes, bytes]) -> BreakerRecord:
    if not raw:
        return BreakerRecord()
    return BreakerRecord(
        state=BreakerState(raw[b"state"].decode()),
        failures=int(raw[b"failures"]),
        successes=int(raw[b"successes"]),
        opened_at=float(raw[b"opened_at"]),
    )


def _encode(record: BreakerRecord) -> dict[str, str]:
    return {
        "state": record.state.value,
        "failures": str(record.failures),
        "successes": str(record.successes),
        "opened_at": repr(record.opened_at),
    }


class RedisBreakerStore:
    """Breaker records as Redis hashes, updated with WATCH/MULTI so racing workers agree."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    def read(self, name: str) -> BreakerRecord:
        return _decode(self._redis.hgetall(PREFIX + name))  # type: ignore[arg-type]

    def update(self, name: str, change: Callable[[BreakerRecord], BreakerRecord]) -> BreakerRecord:
        key = PREFIX + name
        with self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]
                    record = change(_decode(pipe.hgetall(key)))  # type: ignore[arg-type]
                    pipe.multi()
                    pipe.hset(key, mapping=_encode(record))  # type: ignore[arg-type]
                    pipe.execute()
                    return record
                except redis.WatchError:
                    continue  # another process changed it first: apply our change to theirs

    def names(self) -> list[str]:
        return sorted(k.decode()[len(PREFIX) :] for k in self._redis.scan_iter(PREFIX + "*"))
