"""Limit decisions, their 429s and headers, and the in-process store on a clock the test drives."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from spark.config import Settings
from spark.errors import QuotaExceeded, RateLimited
from spark.kv import limits_memory
from spark.kv.factory import make_limit_store
from spark.kv.limits_memory import MemoryLimitStore
from spark.kv.limits_redis import RedisLimitStore
from spark.security.limits import Decision, LimitStore, decide, error_for, headers

MIDNIGHT = 1_735_689_600.0  # 2025-01-01T00:00:00Z


class Clock:
    """Wall and monotonic time that only move when the test says so."""

    def __init__(self, wall: float) -> None:
        self.wall = wall
        self.mono = 1_000.0

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The memory store's clock, starting 100.5 s before a UTC midnight."""
    fake = Clock(MIDNIGHT - 100.5)
    monkeypatch.setattr(
        limits_memory, "time", SimpleNamespace(time=lambda: fake.wall, monotonic=lambda: fake.mono)
    )
    return fake


def hits(store: LimitStore, n: int, user: str = "alice", **limits: int) -> list[Decision]:
    """n hits in a row on a fresh event loop."""
    per_minute, per_day = limits.get("per_minute", 60), limits.get("per_day", 100)

    async def main() -> list[Decision]:
        return [await store.hit(user, "submit", per_minute, per_day) for _ in range(n)]

    return asyncio.run(main())


def refused(reason: Any = "rate_limited", **changes: Any) -> Decision:
    """A refused decision for the free tier's submit family."""
    fields: dict[str, Any] = {
        "allowed": False,
        "reason": reason,
        "limit": 60,
        "remaining": 0,
        "reset_s": 12,
        "retry_after_s": 12,
        "requests_today": 40,
        "family": "submit",
        "per_day": 100,
    }
    return Decision(**{**fields, **changes})


def test_headers_of_an_allowed_hit_have_no_retry_after() -> None:
    """An admitted request carries the three RateLimit headers and nothing else."""
    decision = decide(
        family="read",
        per_minute=600,
        per_day=100,
        outcome="ok",
        in_window=3,
        oldest_leaves_s=41.2,
        requests_today=3,
        to_midnight_s=900,
    )
    assert decision.allowed and decision.retry_after_s == 0
    assert headers(decision) == {
        "RateLimit-Limit": "600",
        "RateLimit-Remaining": "597",
        "RateLimit-Reset": "42",
    }


def test_headers_of_a_refusal_add_retry_after() -> None:
    """A refused request also says when to retry."""
    assert headers(refused()) == {
        "RateLimit-Limit": "60",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "12",
        "Retry-After": "12",
    }


def test_a_rate_limit_error_names_the_limit() -> None:
    """The 429 says which limit, how much, and when; its headers come along."""
    error = error_for(refused())
    assert isinstance(error, RateLimited)
    assert (error.status, error.code) == (429, "rate_limited")
    assert "60 job submissions per minute" in error.message
    assert error.details == {"family": "submit", "limit": 60, "retry_after_s": 12}
    assert error.headers["Retry-After"] == "12"
    assert error.headers["RateLimit-Remaining"] == "0"


@pytest.mark.parametrize(("family", "unit"), [("read", "reads"), ("write", "writes")])
def test_each_family_is_named_in_its_own_words(family: str, unit: str) -> None:
    """Reads and writes are called what they are."""
    assert f"60 {unit} per minute" in error_for(refused(family=family)).message


def test_a_quota_error_names_the_daily_quota() -> None:
    """quota_exceeded reports the day's limit and the wait until 00:00 UTC."""
    error = error_for(refused("quota_exceeded", retry_after_s=3600, remaining=20))
    assert isinstance(error, QuotaExceeded)
    assert (error.status, error.code) == (429, "quota_exceeded")
    assert "100 requests per day" in error.message
    assert error.details == {"family": "submit", "limit": 100, "retry_after_s": 3600}
    assert error.headers["Retry-After"] == "3600"


def test_a_refusal_never_says_retry_now() -> None:
    """Even a limit of zero, with nothing in the window, asks for at least a second."""
    decision = decide(
        family="submit",
        per_minute=0,
        per_day=100,
        outcome="rate_limited",
        in_window=0,
        oldest_leaves_s=0.0,
        requests_today=0,
        to_midnight_s=0.2,
    )
    assert decision.retry_after_s == 1 and decision.reset_s == 0


def test_the_memory_window_slides_with_the_clock(clock: Clock) -> None:
    """A slot frees exactly one window after the hit that held it."""
    store = MemoryLimitStore(window_s=60.0)
    assert [d.allowed for d in hits(store, 3, per_minute=2)] == [True, True, False]
    clock.advance(30)
    late = hits(store, 1, per_minute=2)[0]
    assert late.reason == "rate_limited" and late.retry_after_s == 30
    clock.advance(30)
    assert [d.allowed for d in hits(store, 3, per_minute=2)] == [True, True, False]


def test_the_memory_quota_resets_at_utc_midnight(clock: Clock) -> None:
    """The 6th of 5 a day waits until midnight; after it, the day starts at zero."""
    store = MemoryLimitStore()
    sixth = hits(store, 6, per_day=5)[-1]
    assert sixth.reason == "quota_exceeded" and sixth.retry_after_s == 101
    clock.advance(101)
    fresh = hits(store, 1, per_day=5)[0]
    assert fresh.allowed and fresh.requests_today == 1
    assert asyncio.run(store.requests_today("alice")) == 1


def test_idle_windows_are_forgotten_at_the_next_day(clock: Clock) -> None:
    """Users who stopped calling do not keep memory for the life of the process."""
    store = MemoryLimitStore()
    hits(store, 1, user="gone")
    clock.advance(120)
    hits(store, 1, user="alice")
    assert set(store._windows) == {("alice", "submit")}


def test_the_factory_picks_redis_when_configured() -> None:
    """SPARK_REDIS_URL set: the shared store (connecting lazily); unset: the in-process one."""
    shared = make_limit_store(Settings(redis_url="redis://127.0.0.1:6379/15"))
    assert isinstance(shared, RedisLimitStore)
    assert isinstance(make_limit_store(Settings()), MemoryLimitStore)
