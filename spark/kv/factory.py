"""Choosing the kv adapter: Redis when configured, in-process otherwise."""

from __future__ import annotations

from spark.config import Settings
from spark.kv.base import BreakerStore


def make_breaker_store(settings: Settings) -> BreakerStore:
    """The breaker store for these settings."""
    if settings.redis_url:
        from spark.kv.redis_store import RedisBreakerStore

        return RedisBreakerStore(settings.redis_url)
    from spark.kv.memory import MemoryBreakerStore

    return MemoryBreakerStore()
