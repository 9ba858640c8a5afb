"""The port: breaker records read and updated atomically."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from spark.domain.breakers import BreakerRecord


class BreakerStore(Protocol):
    """Keeps breaker records; update applies a pure transition atomically."""

    def read(self, name: str) -> BreakerRecord:
        """The record (a fresh closed one if there is none)."""
        ...

    def update(self, name: str, change: Callable[[BreakerRecord], BreakerRecord]) -> BreakerRecord:
        """Apply change atomically and return the new record."""
        ...

    def names(self) -> list[str]:
        """Every breaker with a record."""
        ...
