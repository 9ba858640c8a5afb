"""Limit decisions, their 429s and headers, and the store the factory builds."""

from __future__ import annotations

from typing import Any

import pytest

from spark.config import ConfigurationMissing, Settings
from spark.errors import QuotaExceeded, RateLimited
from spark.kv.factory import make_limit_store
from spark.kv.limits_redis import RedisLimitStore
from spark.security.limits import Decision, decide, error_for, headers


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


def test_the_factory_builds_the_shared_store_on_the_configured_redis() -> None:
    """SPARK_REDIS_URL set: the Redis store (connecting lazily); unset: the error names it."""
    shared = make_limit_store(Settings(redis_url="redis://127.0.0.1:1/15"))
    assert isinstance(shared, RedisLimitStore)
    with pytest.raises(ConfigurationMissing, match="SPARK_REDIS_URL"):
        make_limit_store(Settings(redis_url=None))
