"""The event consumer: a durable JetStream consumer storing every event in spark_events once."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from spark import metrics
from spark.config import Settings
from spark.db import events as event_queries
from spark.db.executor import Database
from spark.events.envelope import DLQ_SUBJECT, STREAM, decode_events
from spark.events.pull import Puller
from spark.events.stream import ensure_consumer, ensure_stream, quiet_errors

log = logging.getLogger(__name__)

#: every SPARK subject, dead letters included (they are acknowledged and skipped)
SUBJECTS = "spark.>"


@dataclass(frozen=True)
class ConsumerOptions:
    """How the consumer reads: processes sharing a durable name share the work."""

    durable: str = "spark-events-store"
    batch: int = 500
    #: unacknowledged messages (a consumer killed mid-batch) come back after this long
    ack_wait_s: float = 30.0
    fetch_timeout_s: float = 1.0
    #: touched on every turn of the fetch loop (about once a fetch timeout), so a healthcheck
    #: (`spark consumer --check`) can tell a consumer that still turns from one that is stuck
    alive_file: Path | None = None


def alive_file(settings: Settings) -> Path:
    """The file a running consumer touches on every turn of its loop."""
    return settings.var_dir / "consumer.alive"


def run(settings: Settings, options: ConsumerOptions) -> None:
    """Consume until SIGINT or SIGTERM (a process's whole life as a consumer)."""
    url = settings.require("nats_url")
    db = Database(settings.require("database_url"), pool_size=2)

    async def until_signalled() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await consume(db, url, options, stop)

    try:
        asyncio.run(until_signalled())
    finally:
        db.close()


def consumer_config(options: ConsumerOptions) -> ConsumerConfig:
    """The durable consumer every process with options.durable reads through."""
    return ConsumerConfig(
        durable_name=options.durable,
        filter_subject=SUBJECTS,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=options.ack_wait_s,
        max_ack_pending=options.batch * 4,
    )


async def consume(db: Database, url: str, options: ConsumerOptions, stop: asyncio.Event) -> None:
    """Store events until stop is set; acknowledges a batch only after its rows are committed."""
    nc = await nats.connect(
        url,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        error_cb=quiet_errors,
    )
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        await ensure_consumer(js, consumer_config(options))
        puller = Puller(nc, STREAM, options.durable)
        await puller.start()
        log.info("event consumer %s ready", options.durable)
        await _pipeline(db, nc, puller, options, stop)
    finally:
        # close, not drain: every stored message is already acked, the rest come back anyway
        await nc.close()


async def _pipeline(
    db: Database, nc: Client, puller: Puller, options: ConsumerOptions, stop: asyncio.Event
) -> None:
    """Fetch the next batch while the previous one is being stored (one batch in flight)."""
    storing: asyncio.Task[None] | None = None
    if options.alive_file is not None:
        options.alive_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        while not stop.is_set():
            if options.alive_file is not None:
                options.alive_file.touch()
            msgs = await _fetch(puller, options)
            if storing is not None:
                await storing
                storing = None
            if msgs:
                storing = asyncio.create_task(_store_or_leave(db, nc, msgs))
    finally:
        if storing is not None:
            await storing


async def _fetch(puller: Puller, options: ConsumerOptions) -> list[Msg]:
    try:
        return await puller.fetch(options.batch, options.fetch_timeout_s)
    except Exception as exc:
        # NATS away or reconnecting, or the consumer refused: the client reconnects by itself.
        log.warning("event fetch failed (%s); retrying", exc)
        await asyncio.sleep(1.0)
        return []


async def _store_or_leave(db: Database, nc: Client, msgs: list[Msg]) -> None:
    try:
        await store_batch(db, nc, msgs)
    except Exception:
        # Nothing is acknowledged: the batch comes back after ack_wait and is stored then.
        log.warning(
            "could not store a batch of %d events; it will be redelivered", len(msgs), exc_info=True
        )
        await asyncio.sleep(1.0)


async def store_batch(db: Database, nc: Client, msgs: Sequence[Msg]) -> int:
    """Insert the batch's valid events, dead-letter the invalid ones, then ack them all."""
    # dead letters share the stream; they are kept in their own table
    events_msgs = [msg for msg in msgs if msg.subject != DLQ_SUBJECT]
    events, invalid = decode_events([(msg.data, msg.subject) for msg in events_msgs])
    stored = await asyncio.to_thread(event_queries.store_events, db, events)
    for index, reason in invalid:
        await _dead_letter(db, nc, events_msgs[index], reason)
    # Only now, with the rows committed: a consumer dying before this line leaves the batch
    # unacknowledged, so it is delivered again and its ids are skipped as already stored.
    for msg in msgs:
        await msg.ack()
    return stored


async def _dead_letter(db: Database, nc: Client, msg: Msg, reason: str) -> None:
    metrics.events_dead_lettered()
    log.error("invalid event on %s dead-lettered: %s", msg.subject, reason)
    await nc.publish(
        DLQ_SUBJECT, msg.data, headers={"Spark-Reason": reason[:500], "Spark-Subject": msg.subject}
    )
    payload = msg.data.decode("utf-8", errors="replace")
    await asyncio.to_thread(event_queries.add_dead_letter, db, msg.subject, payload, reason)
