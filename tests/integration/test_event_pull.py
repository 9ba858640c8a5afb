"""Pulling batches from JetStream, and storing them once however often they are delivered."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client

from spark.db import events as event_queries
from spark.db.executor import Database
from spark.events.consumer import ConsumerOptions, consume, consumer_config
from spark.events.envelope import STREAM, decode_events
from spark.events.pull import Puller, PullError
from spark.events.stream import ensure_consumer, ensure_stream
from tests.integration.test_event_consumer import events_for, publish_raw, stored
from tests.support.nats import NatsServer


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path)
    server.start()
    yield server
    server.stop()


async def connected_puller(url: str, options: ConsumerOptions) -> tuple[Client, Puller]:
    """A connection and a started Puller on options' durable consumer (created if missing)."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js)
    await ensure_consumer(js, consumer_config(options))
    puller = Puller(nc, STREAM, options.durable)
    await puller.start()
    return nc, puller


def publish_events(url: str, job_id: uuid.UUID, n: int) -> None:
    events = events_for(job_id, n)
    asyncio.run(publish_raw(url, [(e.subject, e.encode(), str(e.id)) for e in events]))


def test_a_backlog_is_fetched_a_full_batch_at_a_time_and_the_rest_at_once(
    nats_server: NatsServer,
) -> None:
    """25 waiting events come as 10, 10 and 5, the last without waiting for a batch to fill."""
    publish_events(nats_server.url, uuid.uuid4(), 25)

    async def fetch_all() -> tuple[list[int], float]:
        nc, puller = await connected_puller(nats_server.url, ConsumerOptions(durable="backlog"))
        sizes = [len(await puller.fetch(10, timeout_s=5.0)) for _ in range(2)]
        started = time.monotonic()
        sizes.append(len(await puller.fetch(10, timeout_s=5.0)))
        await nc.close()
        return sizes, time.monotonic() - started

    sizes, last_s = asyncio.run(fetch_all())
    assert sizes == [10, 10, 5]
    assert last_s < 2.5, "the partial batch waited for the request to expire"


def test_a_fetch_on_an_idle_stream_returns_the_first_event_as_soon_as_it_arrives(
    nats_server: NatsServer,
) -> None:
    """A lone event is not held back until its batch fills or the fetch times out."""
    asyncio.run(publish_raw(nats_server.url, []))  # the stream exists, empty

    async def fetch_while_publishing() -> tuple[int, float]:
        nc, puller = await connected_puller(nats_server.url, ConsumerOptions(durable="idle"))
        started = time.monotonic()
        fetching = asyncio.create_task(puller.fetch(100, timeout_s=5.0))
        await asyncio.sleep(0.3)
        [event] = events_for(uuid.uuid4(), 1)
        await nc.jetstream().publish(event.subject, event.encode())
        msgs = await fetching
        elapsed = time.monotonic() - started
        await nc.close()
        return len(msgs), elapsed

    count, elapsed = asyncio.run(fetch_while_publishing())
    assert count == 1
    assert elapsed < 2.5


def test_a_fetch_on_an_empty_stream_returns_nothing_after_its_timeout(
    nats_server: NatsServer,
) -> None:
    asyncio.run(publish_raw(nats_server.url, []))

    async def fetch_nothing() -> tuple[int, float]:
        nc, puller = await connected_puller(nats_server.url, ConsumerOptions(durable="empty"))
        started = time.monotonic()
        msgs = await puller.fetch(10, timeout_s=0.5)
        elapsed = time.monotonic() - started
        await nc.close()
        return len(msgs), elapsed

    count, elapsed = asyncio.run(fetch_nothing())
    assert count == 0
    assert 0.4 < elapsed < 2.0


def test_a_fetch_waiting_on_a_consumer_that_is_deleted_fails_at_once(
    nats_server: NatsServer,
) -> None:
    """The server's refusal (409) ends the fetch with an error, not an empty wait."""
    asyncio.run(publish_raw(nats_server.url, []))

    async def fetch_deleted() -> float:
        nc, puller = await connected_puller(nats_server.url, ConsumerOptions(durable="gone"))
        started = time.monotonic()
        fetching = asyncio.create_task(puller.fetch(10, timeout_s=5.0))
        await asyncio.sleep(0.3)
        await nc.jetstream().delete_consumer(STREAM, "gone")
        try:
            with pytest.raises(PullError, match="409"):
                await fetching
        finally:
            await nc.close()
        return time.monotonic() - started

    assert asyncio.run(fetch_deleted()) < 2.5


def test_storing_skips_ids_already_stored_and_ids_repeated_within_a_batch(db: Database) -> None:
    """The COPY path: one row per event id, whichever batch or position a copy arrives in."""
    job_id = uuid.uuid4()
    first, second, third = events_for(job_id, 3)
    assert event_queries.store_events(db, [first, second, first]) == 2
    assert event_queries.store_events(db, [second, third]) == 1
    assert stored(db, job_id) == (3, 3)


async def consume_until_acked(url: str, db: Database, options: ConsumerOptions) -> None:
    """Run consume() until its consumer has nothing left to deliver or to be acknowledged."""
    nc = await nats.connect(url)
    await ensure_consumer(nc.jetstream(), consumer_config(options))
    stop = asyncio.Event()
    consuming = asyncio.create_task(consume(db, url, options, stop))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not consuming.done():
            info = await nc.jetstream().consumer_info(STREAM, options.durable)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the consumer did not acknowledge everything in time")
    finally:
        stop.set()
        await consuming
        await nc.close()


def test_duplicates_spread_over_batches_are_stored_once(
    nats_server: NatsServer, db: Database
) -> None:
    """Copies of an event (past the dedupe window) in later batches and in the same batch."""
    job_id = uuid.uuid4()
    events = events_for(job_id, 10)
    raw = [(e.subject, e.encode(), f"{e.id}-{copy}") for copy in (1, 2) for e in events]
    raw += [(events[0].subject, events[0].encode(), f"{events[0].id}-{copy}") for copy in (3, 4)]
    asyncio.run(publish_raw(nats_server.url, raw))
    options = ConsumerOptions(durable="duplicates", batch=3, fetch_timeout_s=0.5)
    asyncio.run(consume_until_acked(nats_server.url, db, options))
    assert stored(db, job_id) == (10, 10)


def test_a_batch_committed_but_never_acknowledged_is_stored_once_when_redelivered(
    nats_server: NatsServer, db: Database
) -> None:
    """A consumer gone between its commit and its acks: the batch comes back and adds no row."""
    job_id = uuid.uuid4()
    publish_events(nats_server.url, job_id, 50)
    options = ConsumerOptions(durable="interrupted", batch=20, ack_wait_s=1.0, fetch_timeout_s=0.5)

    async def commit_then_vanish() -> int:
        nc, puller = await connected_puller(nats_server.url, options)
        msgs = await puller.fetch(options.batch, options.fetch_timeout_s)
        events, invalid = decode_events([(m.data, m.subject) for m in msgs])
        assert not invalid
        await asyncio.to_thread(event_queries.store_events, db, events)
        await nc.close()  # no ack: the process died right after its commit
        nc = await nats.connect(nats_server.url)
        info = await nc.jetstream().consumer_info(STREAM, options.durable)
        await nc.close()
        return int(info.num_ack_pending or 0)

    assert asyncio.run(commit_then_vanish()) == 20
    assert stored(db, job_id) == (20, 20)
    asyncio.run(consume_until_acked(nats_server.url, db, options))
    assert stored(db, job_id) == (50, 50)
