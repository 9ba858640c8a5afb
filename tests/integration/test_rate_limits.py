"""Rate limits and daily quotas in Redis, shared across stores and API processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.asyncio import Redis as AsyncRedis

from spark.errors import ServiceUnavailable
from spark.kv.limits_redis import UTC_DATE_LUA, RedisLimitStore
from spark.security.limits import Decision, LimitStore
from tests.support.services import SuiteStack, free_port

pytestmark = pytest.mark.integration

PREFIX = "spark-test"
ROOT = Path(__file__).resolve().parents[2]

MakeStore = Callable[..., LimitStore]


@pytest.fixture(scope="module")
def limits_url(servers: SuiteStack) -> str:
    """A database of the suite's Redis that only this module uses."""
    return servers.redis_url(15)


@pytest.fixture
def redis_db(limits_url: str) -> Iterator[redis.Redis]:
    """This module's database, empty before and after the test."""
    client = redis.Redis.from_url(limits_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def make_store(redis_db: redis.Redis, limits_url: str) -> MakeStore:
    """Makes a store with the window the test asks for."""
    return lambda window_s=60.0: RedisLimitStore(limits_url, window_s=window_s, prefix=PREFIX)


def run(store: LimitStore, scenario: Callable[[LimitStore], Awaitable[Any]]) -> Any:
    """Run the scenario on a fresh event loop and close the store on that same loop."""

    async def main() -> Any:
        try:
            return await scenario(store)
        finally:
            await store.close()

    return asyncio.run(main())


def burst(store: LimitStore, n: int, user: str, family: str = "submit", **limits: int) -> Any:
    """n concurrent hits, as awaitable decisions."""
    per_minute, per_day = limits.get("per_minute", 60), limits.get("per_day", 10_000)
    return asyncio.gather(*(store.hit(user, family, per_minute, per_day) for _ in range(n)))


def seconds_to_utc_midnight() -> float:
    """Seconds from now until the next 00:00 UTC."""
    return 86_400 - time.time() % 86_400


def test_200_concurrent_hits_admit_exactly_the_limit(make_store: MakeStore) -> None:
    """Given a limit of 60 a minute, 200 concurrent hits admit exactly 60."""

    async def scenario(store: LimitStore) -> tuple[list[Decision], int]:
        return await burst(store, 200, "alice"), await store.requests_today("alice")

    decisions, today = run(make_store(), scenario)

    allowed = [d for d in decisions if d.allowed]
    refused = [d for d in decisions if not d.allowed]
    assert len(allowed) == 60
    assert len(refused) == 140
    assert all(d.reason == "rate_limited" and d.remaining == 0 for d in refused)
    assert all(1 <= d.reset_s <= 60 and 1 <= d.retry_after_s <= 60 for d in refused)
    assert all(d.limit == 60 for d in decisions)
    assert sorted(d.remaining for d in allowed) == list(range(60))
    assert today == 60


def test_other_users_and_families_have_their_own_windows(make_store: MakeStore) -> None:
    """Alice's full submit window leaves her reads and Bob's submissions alone."""

    async def scenario(store: LimitStore) -> tuple[Decision, Decision, Decision]:
        await burst(store, 60, "alice")
        over = await store.hit("alice", "submit", 60, 10_000)
        read = await store.hit("alice", "read", 60, 10_000)
        bob = await store.hit("bob", "submit", 60, 10_000)
        return over, read, bob

    over, read, bob = run(make_store(), scenario)

    assert over.reason == "rate_limited"
    assert read.allowed and read.remaining == 59
    assert bob.allowed and bob.remaining == 59 and bob.requests_today == 1


def test_the_window_slides(make_store: MakeStore) -> None:
    """Each hit leaves the window one window-length after it was made, not at a fixed boundary."""

    async def scenario(store: LimitStore) -> list[list[bool]]:
        rounds = [[d.allowed for d in await burst(store, 2, "alice", per_minute=3)]]
        await asyncio.sleep(0.6)
        rounds.append([d.allowed for d in await burst(store, 2, "alice", per_minute=3)])
        await asyncio.sleep(0.6)  # the first two have left the window; the third has not
        rounds.append([d.allowed for d in await burst(store, 3, "alice", per_minute=3)])
        return rounds

    first, second, third = run(make_store(window_s=1.0), scenario)

    assert first == [True, True]
    assert sorted(second) == [False, True]
    assert sorted(third) == [False, True, True]


def test_a_refused_hit_says_when_a_slot_frees(make_store: MakeStore) -> None:
    """With a 2-second window, the refusal's Retry-After is about the oldest hit's remaining life."""

    async def scenario(store: LimitStore) -> tuple[Decision, Decision]:
        await store.hit("alice", "write", 1, 100)
        refused = await store.hit("alice", "write", 1, 100)
        await asyncio.sleep(2.1)
        return refused, await store.hit("alice", "write", 1, 100)

    refused, later = run(make_store(window_s=2.0), scenario)

    assert refused.reason == "rate_limited"
    assert refused.retry_after_s == 2 and refused.reset_s == 2
    assert later.allowed


def test_the_daily_quota_refuses_until_utc_midnight(make_store: MakeStore) -> None:
    """The 6th request of a 5-a-day user is quota_exceeded, in any family, until 00:00 UTC."""

    async def scenario(store: LimitStore) -> tuple[list[Decision], Decision, int]:
        decisions = [await store.hit("alice", "submit", 60, 5) for _ in range(7)]
        other_family = await store.hit("alice", "read", 60, 5)
        return decisions, other_family, await store.requests_today("alice")

    decisions, other_family, today = run(make_store(), scenario)

    assert [d.reason for d in decisions] == ["ok"] * 5 + ["quota_exceeded"] * 2
    sixth = decisions[5]
    assert not sixth.allowed
    assert abs(sixth.retry_after_s - seconds_to_utc_midnight()) <= 2
    assert sixth.requests_today == 5 and sixth.per_day == 5
    assert other_family.reason == "quota_exceeded"
    assert today == 5


def test_a_quota_refusal_takes_no_rate_limit_slot(make_store: MakeStore) -> None:
    """Requests refused by the quota leave the minute window as it was."""

    async def scenario(store: LimitStore) -> tuple[list[Decision], list[Decision]]:
        quota = [await store.hit("alice", "submit", 10, 3) for _ in range(20)]
        # The quota is raised (a tier upgrade): only the three real hits fill the window.
        after = list(await burst(store, 10, "alice", per_minute=10, per_day=100))
        return quota, after

    quota, after = run(make_store(), scenario)

    # Each refusal reports the used-up day (remaining 0 until midnight), not the window.
    assert all((d.limit, d.remaining) == (3, 0) for d in quota[3:])
    assert sum(d.allowed for d in after) == 7


def test_a_rate_limited_hit_is_not_counted_in_the_quota(make_store: MakeStore) -> None:
    """Only admitted requests count towards the day."""

    async def scenario(store: LimitStore) -> int:
        await burst(store, 50, "alice", per_minute=5)
        return await store.requests_today("alice")

    assert run(make_store(), scenario) == 5


# --- Redis only: many API processes, one limit -------------------------------------------


def test_two_stores_share_one_users_limit(redis_db: redis.Redis, limits_url: str) -> None:
    """Two stores (two API processes' worth) admit exactly 60 of 200 concurrent hits in total."""
    a = RedisLimitStore(limits_url, prefix=PREFIX)
    b = RedisLimitStore(limits_url, prefix=PREFIX)

    async def scenario(_: LimitStore) -> list[Decision]:
        try:
            left, right = await asyncio.gather(burst(a, 100, "alice"), burst(b, 100, "alice"))
        finally:
            await b.close()
        return [*left, *right]

    decisions = run(a, scenario)

    assert sum(d.allowed for d in decisions) == 60
    assert redis_db.zcard(f"{PREFIX}:rate:{{alice}}:submit") == 60


CHILD = """
import asyncio, sys
import redis
from spark.kv.limits_redis import RedisLimitStore

async def main(url, prefix, user, go_key, hits):
    store = RedisLimitStore(url, prefix=prefix)
    signal = redis.Redis.from_url(url)
    try:
        await store.requests_today(user)  # connected before the start signal
        print("ready", flush=True)
        await asyncio.to_thread(signal.blpop, [go_key], 30)
        hits = [store.hit(user, "submit", 60, 10_000) for _ in range(int(hits))]
        print(sum(d.allowed for d in await asyncio.gather(*hits)), flush=True)
    finally:
        signal.close()
        await store.close()

asyncio.run(main(*sys.argv[1:]))
"""


def test_two_os_processes_share_one_users_limit(redis_db: redis.Redis, limits_url: str) -> None:
    """Two real processes firing 100 hits each at the same moment admit exactly 60 in total."""
    go_key = f"{PREFIX}:go:{uuid.uuid4().hex}"
    args = [sys.executable, "-c", CHILD, limits_url, PREFIX, "alice", go_key, "100"]
    children = [
        subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        redis_db.rpush(go_key, "go", "go")
        admitted = [int(child.communicate(timeout=30)[0].strip()) for child in children]
    finally:
        for child in children:
            child.kill()
            child.wait()

    assert all(child.returncode == 0 for child in children)
    assert sum(admitted) == 60
    assert redis_db.zcard(f"{PREFIX}:rate:{{alice}}:submit") == 60


def test_redis_down_fails_closed() -> None:
    """With nothing listening, hits and reads raise 503 rate-limiter-unavailable, never allow."""
    store = RedisLimitStore(f"redis://127.0.0.1:{free_port()}/15", prefix=PREFIX)

    async def scenario(s: LimitStore) -> list[ServiceUnavailable]:
        errors = []
        calls = (lambda: s.hit("alice", "submit", 60, 100), lambda: s.requests_today("alice"))
        for call in calls:
            with pytest.raises(ServiceUnavailable) as caught:
                await call()
            errors.append(caught.value)
        return errors

    started = time.monotonic()
    errors = run(store, scenario)

    assert time.monotonic() - started < 3
    for error in errors:
        assert error.status == 503
        assert error.message == "rate limiter unavailable"
        assert error.headers["Retry-After"] == "5"


def test_one_hit_is_one_round_trip(
    redis_db: redis.Redis, limits_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every hit sends a single EVALSHA: the whole decision runs inside Redis."""
    sent: list[str] = []
    original: Callable[..., Awaitable[Any]] = AsyncRedis.execute_command

    async def spy(self: AsyncRedis, *args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return await original(self, *args, **options)

    monkeypatch.setattr(AsyncRedis, "execute_command", spy)

    async def scenario(store: LimitStore) -> None:
        await store.hit("alice", "read", 600, 10_000)  # may load the script once
        sent.clear()
        for _ in range(10):
            await store.hit("alice", "read", 600, 10_000)

    run(RedisLimitStore(limits_url, prefix=PREFIX), scenario)

    assert sent == ["EVALSHA"] * 10


def test_keys_expire_and_name_the_utc_day(redis_db: redis.Redis, limits_url: str) -> None:
    """The window key lives one window; the day counter is named by its UTC date and kept ~48 h."""

    async def scenario(store: LimitStore) -> Decision:
        return await store.hit("alice", "submit", 60, 100)

    run(RedisLimitStore(limits_url, window_s=2.0, prefix=PREFIX), scenario)

    today = datetime.now(UTC).date().isoformat()
    assert redis_db.get(f"{PREFIX}:quota:{{alice}}:{today}") == b"1"
    assert 47 * 3600 < redis_db.ttl(f"{PREFIX}:quota:{{alice}}:{today}") <= 48 * 3600
    assert 0 < redis_db.pttl(f"{PREFIX}:rate:{{alice}}:submit") <= 2000


@pytest.mark.parametrize(
    ("unix", "date"),
    [
        (0, "1970-01-01"),
        (951_782_400, "2000-02-29"),
        (1_709_251_199, "2024-02-29"),
        (1_735_689_600, "2025-01-01"),
        (4_107_542_400, "2100-03-01"),
    ],
)
def test_the_lua_utc_date_matches_the_calendar(redis_db: redis.Redis, unix: int, date: str) -> None:
    """The script's own date arithmetic agrees with Python's across leap days and centuries."""
    got = redis_db.eval(UTC_DATE_LUA + "return utc_date(tonumber(ARGV[1]))", 0, unix)
    assert got == date.encode()
    assert datetime.fromtimestamp(unix, UTC).date().isoformat() == date
