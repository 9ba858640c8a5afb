"""Choosing the kv adapter: Redis when configured, in-process otherwise."""

from __future__ import annotations

from spark.config import Settings
from spark.kv.base import BreakerStore
from spark.kv.leases import Leases, MemoryLeases, RedisLeases
from spark.kv.preview_cache import MemoryPreviewCache, PreviewCache, RedisPreviewCache
from spark.security.limits import LimitStore


def make_breaker_store(settings: Settings) -> BreakerStore:
    """The breaker store for these settings."""
    if settings.redis_url:
        from spark.kv.redis_store import RedisBreakerStore

        return RedisBreakerStore(settings.redis_url)
    from spark.kv.memory import MemoryBreakerStore

    return MemoryBreakerStore()


def make_limit_store(settings: Settings) -> LimitStore:
    """The rate-limit and quota store for these settings."""
    if settings.redis_url:
        from spark.kv.limits_redis import RedisLimitStore

        return RedisLimitStore(settings.redis_url)
    from spark.kv.limits_memory import MemoryLimitStore

    return MemoryLimitStore()


def make_preview_cache(settings: Settings) -> PreviewCache:
    """The preview cache for these settings: shared in Redis, else this process's LRU."""
    if settings.redis_url:
        return RedisPreviewCache(settings.redis_url)
    return MemoryPreviewCache()


def make_leases(settings: Settings) -> Leases:
    """Editor leases for these settings: shared in Redis, else this process's."""
    if settings.redis_url:
        return RedisLeases(settings.redis_url)
    return MemoryLeases()
