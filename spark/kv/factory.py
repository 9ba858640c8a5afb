"""The kv adapters for a process's settings: all of them on the configured Redis."""

from __future__ import annotations

from spark.config import Settings
from spark.kv.base import BreakerStore
from spark.kv.leases import Leases, RedisLeases
from spark.kv.limits_redis import RedisLimitStore
from spark.kv.preview_cache import PreviewCache, RedisPreviewCache
from spark.kv.redis_store import RedisBreakerStore
from spark.security.limits import LimitStore


def make_breaker_store(settings: Settings) -> BreakerStore:
    """The breaker store, shared by every process through Redis."""
    return RedisBreakerStore(settings.require("redis_url"))


def make_limit_store(settings: Settings) -> LimitStore:
    """The rate-limit and quota store, shared by every API process through Redis."""
    return RedisLimitStore(settings.require("redis_url"))


def make_preview_cache(settings: Settings) -> PreviewCache:
    """The preview cache, shared by every worker through Redis."""
    return RedisPreviewCache(settings.require("redis_url"))


def make_leases(settings: Settings) -> Leases:
    """Editor leases, held across every worker process through Redis."""
    return RedisLeases(settings.require("redis_url"))
