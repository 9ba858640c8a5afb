"""Circuit breakers whose state every process shares (through the kv port).

closed --5 failures--> open --60 s--> half_open --2 successes--> closed
                                      half_open --1 failure--> open
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from spark import metrics
from spark.config import Settings
from spark.domain.breakers import BreakerRecord, BreakerState
from spark.errors import DependencyUnavailable
from spark.kv.base import BreakerStore

T = TypeVar("T")


@dataclass(frozen=True)
class BreakerPolicy:
    """When a breaker opens and when it tries again."""

    failures_to_open: int = 5
    reset_after_s: float = 60.0
    successes_to_close: int = 2


def breaker_policy(settings: Settings) -> BreakerPolicy:
    """The breaker thresholds from settings (SPARK_BREAKER_*)."""
    return BreakerPolicy(
        settings.breaker_failures, settings.breaker_reset_s, settings.breaker_successes
    )


class BreakerOpen(DependencyUnavailable):
    """The dependency is failing; calls are held back until the breaker half-opens."""


def admit(record: BreakerRecord, policy: BreakerPolicy, now: float) -> BreakerRecord:
    """The record after asking to call: an open breaker past its reset time half-opens."""
    if record.state is BreakerState.OPEN and now - record.opened_at >= policy.reset_after_s:
        return BreakerRecord(BreakerState.HALF_OPEN, opened_at=record.opened_at)
    return record


def on_success(record: BreakerRecord, policy: BreakerPolicy) -> BreakerRecord:
    """The record after a call succeeded."""
    if record.state is BreakerState.HALF_OPEN:
        if record.successes + 1 >= policy.successes_to_close:
            return BreakerRecord()
        return replace(record, successes=record.successes + 1)
    return replace(record, failures=0) if record.state is BreakerState.CLOSED else record


def on_failure(record: BreakerRecord, policy: BreakerPolicy, now: float) -> BreakerRecord:
    """The record after a call failed."""
    if record.state is BreakerState.HALF_OPEN:
        return BreakerRecord(BreakerState.OPEN, opened_at=now)
    failures = record.failures + 1
    if record.state is BreakerState.CLOSED and failures >= policy.failures_to_open:
        return BreakerRecord(BreakerState.OPEN, failures=failures, opened_at=now)
    return replace(record, failures=failures)


class CircuitBreaker:
    """Guards calls to one dependency; its state lives in a BreakerStore shared by processes."""

    def __init__(self, name: str, store: BreakerStore, policy: BreakerPolicy | None = None) -> None:
        self.name, self._store = name, store
        self._policy = policy or BreakerPolicy()

    def state(self) -> BreakerState:
        """The state now (an open breaker past its reset time reads as half-open)."""
        return admit(self._store.read(self.name), self._policy, time.time()).state

    def call(self, fn: Callable[[], T], counts: Callable[[BaseException], bool]) -> T:
        """Call fn if admitted; failures for which counts(exc) is true count against it."""
        now = time.time()
        record = self._store.update(self.name, lambda r: admit(r, self._policy, now))
        metrics.breaker_state(self.name, record.state is BreakerState.OPEN)
        if record.state is BreakerState.OPEN:
            wait = max(1, int(self._policy.reset_after_s - (now - record.opened_at)))
            raise BreakerOpen(f"{self.name} is failing; retry in {wait}s", retry_after=wait)
        try:
            result = fn()
        except Exception as exc:
            if counts(exc):
                failed = self._store.update(
                    self.name, lambda r: on_failure(r, self._policy, time.time())
                )
                metrics.breaker_state(self.name, failed.state is BreakerState.OPEN)
            raise
        self._store.update(self.name, lambda r: on_success(r, self._policy))
        metrics.breaker_state(self.name, is_open=False)
        return result
