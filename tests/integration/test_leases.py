"""Editor leases on real Redis: one holder at a time across processes, renewed while held, and
freed by expiry when the holder dies without letting go."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid

import pytest

from spark.kv.leases import LeaseBusy, RedisLeases

pytestmark = pytest.mark.integration


def name() -> str:
    return f"test-{uuid.uuid4().hex}"


def test_a_held_lease_keeps_a_second_holder_out_past_its_ttl_until_released(redis_url: str) -> None:
    leases, other = RedisLeases(redis_url, ttl_s=2.0), RedisLeases(redis_url, ttl_s=2.0)
    held = name()
    # over twice the TTL: only renewal keeps the first holder's lease
    with leases.hold(held, wait_s=1.0), pytest.raises(LeaseBusy), other.hold(held, wait_s=5.0):
        pass
    with other.hold(held, wait_s=1.0):
        pass


def test_the_second_holder_gets_the_lease_when_the_first_lets_go(redis_url: str) -> None:
    leases = RedisLeases(redis_url, ttl_s=5.0)
    held, order = name(), []

    def second() -> None:
        with leases.hold(held, wait_s=10.0):
            order.append("second")

    with leases.hold(held, wait_s=1.0):
        waiter = threading.Thread(target=second)
        waiter.start()
        order.append("first")
    waiter.join(10)
    assert order == ["first", "second"]


def _die_holding(url: str, lease: str) -> None:
    with RedisLeases(url, ttl_s=1.0).hold(lease, wait_s=1.0):
        os._exit(0)  # a worker killed mid-job: nothing is released


def test_a_holder_that_dies_frees_the_lease_within_its_ttl(redis_url: str) -> None:
    lease = name()
    child = multiprocessing.get_context("fork").Process(
        target=_die_holding, args=(redis_url, lease)
    )
    child.start()
    child.join(10)
    started = time.monotonic()
    with RedisLeases(redis_url).hold(lease, wait_s=5.0):
        pass
    assert time.monotonic() - started < 5.0
