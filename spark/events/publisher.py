"""Publishing events to JetStream from sync code, with the Postgres outbox as the fallback."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

import nats

from spark import metrics
from spark.db import events as event_queries
from spark.db.executor import Database
from spark.domain.events import Event
from spark.events.envelope import DLQ_SUBJECT
from spark.events.sink import dead_letter
from spark.events.stream import ensure_stream, quiet_errors

log = logging.getLogger(__name__)

#: acknowledged outbox rows are deleted together at most this often: one statement and one
#: commit for every job that ended meanwhile instead of one each
FORGET_INTERVAL_S = 0.2


class NatsPublisher:
    """An EventSink over JetStream: batched, bounded, and never dropping an event silently.

    Events are queued in memory and published by a thread running its own asyncio loop (one
    connection per process, made after fork). Each message carries the event id as
    Nats-Msg-Id, so a retry is deduplicated by the stream. When NATS is away or does not
    acknowledge in time, the events go to the Postgres outbox for the relay; when even that
    fails they are dead-lettered (spark.dlq, the dead-letter table, a log line, a metric).
    A staged event is in the outbox from the start: once NATS acknowledges it, its row is
    forgotten; if NATS does not, the row simply stays for the relay.
    """

    def __init__(
        self,
        url: str,
        db: Database,
        *,
        ack_timeout_s: float = 2.0,
        max_pending: int = 10_000,
        batch: int = 256,
    ) -> None:
        self._url, self._db = url, db
        self._ack_timeout, self._max_pending, self._batch = ack_timeout_s, max_pending, batch
        self._pending: deque[Event] = deque()
        #: ids of queued events that already wait in the outbox (staged terminal events)
        self._staged: set[uuid.UUID] = set()
        self._inflight = 0
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._wake: asyncio.Event | None = None
        self._nc: Any = None
        self._js: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        #: ids of delivered staged events whose outbox rows are still to be deleted
        self._forgettable: list[uuid.UUID] = []
        self._forgetting: asyncio.Task[None] | None = None
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="spark-events", daemon=True
        )
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=5)

    def publish(self, event: Event) -> None:
        """Queue the event; if the queue is full, store it in the outbox right away."""
        if not self._enqueue(event, staged=False):
            # Backpressure without blocking the job: this event skips NATS for the outbox.
            self._spill_sync([event], "publisher queue full")

    def committed(self, events: Sequence[Event]) -> None:
        """Publish staged events now; with the queue full, the relay will send them."""
        for event in events:
            self._enqueue(event, staged=True)

    def _enqueue(self, event: Event, *, staged: bool) -> bool:
        with self._cond:
            if len(self._pending) + self._inflight >= self._max_pending:
                return False
            idle = not self._pending
            self._pending.append(event)
            if staged:
                self._staged.add(event.id)
        if idle:
            # Only the first event of a burst wakes the loop; it drains the rest in batches.
            assert self._wake is not None
            self._loop.call_soon_threadsafe(self._wake.set)
        return True

    def flush(self, timeout_s: float = 2.0) -> bool:
        """Wait until every queued event is acknowledged or in the outbox."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._pending or self._inflight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def close(self) -> None:
        """Flush, then close the connection and stop the loop."""
        self.flush()
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    @property
    def connected(self) -> bool:
        """Whether the connection to NATS is up right now."""
        return bool(self._nc is not None and self._nc.is_connected)

    async def _start(self) -> None:
        self._wake = asyncio.Event()
        self._tasks = [
            self._loop.create_task(self._connect()),
            self._loop.create_task(self._drain_forever()),
        ]

    async def _stop(self) -> None:
        tasks = [*self._tasks, *([self._forgetting] if self._forgetting else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # What was acknowledged but not yet forgotten is deleted now rather than relayed again.
        await self._forget_now()
        if self._nc is not None:
            await self._nc.close()

    async def _connect(self) -> None:
        while True:
            try:
                nc = await nats.connect(
                    self._url,
                    connect_timeout=1,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    ping_interval=5,
                    max_outstanding_pings=2,
                    error_cb=quiet_errors,
                )
                js = nc.jetstream(timeout=self._ack_timeout)
                await ensure_stream(js)
            except Exception as exc:
                log.warning("NATS at %s unavailable (%s); events go to the outbox", self._url, exc)
                await asyncio.sleep(1.0)
                continue
            self._nc, self._js = nc, js
            return

    def _take(self) -> list[Event]:
        with self._cond:
            batch = [self._pending.popleft() for _ in range(min(self._batch, len(self._pending)))]
            self._inflight += len(batch)
            return batch

    def _unstage(self, events: list[Event]) -> tuple[list[Event], list[uuid.UUID]]:
        """Split events into those held only here and the ids of those already in the outbox."""
        with self._cond:
            staged = [e.id for e in events if e.id in self._staged]
            self._staged.difference_update(staged)
        kept = set(staged)
        return [e for e in events if e.id not in kept], staged

    def _done(self, count: int) -> None:
        with self._cond:
            self._inflight -= count
            self._cond.notify_all()

    async def _drain_forever(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while batch := self._take():
                try:
                    await self._send(batch)
                finally:
                    self._done(len(batch))

    async def _send(self, batch: list[Event]) -> None:
        if not self.connected:
            loose, _ = self._unstage(batch)
            await self._spill(loose, "NATS unavailable")
            return
        results = await asyncio.gather(
            *(
                self._js.publish(
                    e.subject,
                    e.encode(),
                    headers={"Nats-Msg-Id": str(e.id)},
                    timeout=self._ack_timeout,
                )
                for e in batch
            ),
            return_exceptions=True,
        )
        pairs = list(zip(batch, results, strict=True))
        failed = [e for e, r in pairs if isinstance(r, BaseException)]
        acked = [e for e, r in pairs if not isinstance(r, BaseException)]
        metrics.events_published(len(acked))
        _, delivered_staged = self._unstage(acked)
        if delivered_staged:
            await self._forget(delivered_staged)
        if failed:
            metrics.events_failed(len(failed))
            reason = next(repr(r) for r in results if isinstance(r, BaseException))
            loose, _ = self._unstage(failed)
            await self._spill(loose, f"not acknowledged: {reason}")

    async def _forget(self, ids: list[uuid.UUID]) -> None:
        """Delete these outbox rows with the others acknowledged within FORGET_INTERVAL_S."""
        self._forgettable.extend(ids)
        if self._forgetting is None:
            self._forgetting = self._loop.create_task(self._forget_soon())

    async def _forget_soon(self) -> None:
        await asyncio.sleep(FORGET_INTERVAL_S)
        # From here on a new acknowledgement starts the next round.
        self._forgetting = None
        await self._forget_now()

    async def _forget_now(self) -> None:
        ids, self._forgettable = self._forgettable, []
        if not ids:
            return
        try:
            await asyncio.to_thread(event_queries.outbox_forget, self._db, ids)
        except Exception:
            # Harmless: the relay publishes them again with the same Nats-Msg-Id.
            log.warning("could not forget %d delivered outbox event(s)", len(ids), exc_info=True)

    async def _spill(self, events: list[Event], reason: str) -> None:
        if not events:
            return
        try:
            await asyncio.to_thread(event_queries.outbox_add, self._db, events)
            log.info("%d event(s) kept in the outbox: %s", len(events), reason)
            return
        except Exception as exc:
            reason = f"{reason}; outbox unavailable: {exc}"
        for event in events:
            if self.connected:
                await self._nc.publish(
                    DLQ_SUBJECT, event.encode(), headers={"Spark-Reason": reason}
                )
            await asyncio.to_thread(dead_letter, self._db, event, reason)

    def _spill_sync(self, events: list[Event], reason: str) -> None:
        try:
            event_queries.outbox_add(self._db, events)
        except Exception as exc:
            for event in events:
                dead_letter(self._db, event, f"{reason}; outbox unavailable: {exc}")
