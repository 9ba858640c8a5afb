"""The in-process adapter (embedded default): state shared by the threads of one process."""

from __future__ import annotations

import threading
from collections.abc import Callable

from spark.domain.breakers import BreakerRecord


class MemoryBreakerStore:
    """Breaker records in a dict behind a lock."""

    def __init__(self) -> None:
        self._records: dict[str, BreakerRecord] = {}
        self._lock = threading.Lock()

    def read(self, name: str) -> BreakerRecord:
        with self._lock:
            return self._records.get(name, BreakerRecord())

    def update(self, name: str, change: Callable[[BreakerRecord], BreakerRecord]) -> BreakerRecord:
        with self._lock:
            record = change(self._records.get(name, BreakerRecord()))
            self._records[name] = record
            return record

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._records)
