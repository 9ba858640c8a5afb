"""Publishing accepted jobs' messages from one background thread, batched.

The API commits a job with its outbox row, hands the job here and answers once its message is
published: one thread publishes every message, with one producer per batch (no thread-pool
hop per request, no threads contending for the broker's connections), and hands the sent ids
to SentMarks. A message that fails (broker away) keeps its outbox row unsent and the request
is answered all the same: the job is accepted and the relay sends it, as after a failed
inline send; a process that dies first leaves the same unsent rows behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass

from spark.batching import Batcher
from spark.broker.dispatch import CeleryDispatcher
from spark.broker.outbox import SentMarks
from spark.domain.jobs import Job
from spark.kinds import queue_of

log = logging.getLogger(__name__)

#: the longest the idle thread sleeps (it is woken by every add)
IDLE_WAKE_S = 0.5


@dataclass(frozen=True)
class _Pending:
    job: Job
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[None]


class Sender:
    """Publishes jobs' messages in the order they were accepted, as soon as it can."""

    def __init__(self, dispatcher: CeleryDispatcher, marks: SentMarks) -> None:
        self._dispatcher = dispatcher
        self._marks = marks
        self._batcher: Batcher[_Pending] = Batcher(
            self._send, IDLE_WAKE_S, "spark-sender", eager=True
        )

    async def send(self, job: Job) -> None:
        """Publish job's message; returns once it is published or left to the relay."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._batcher.add(_Pending(job, loop, done))
        await done

    def close(self) -> None:
        """Publish what is pending and stop the thread."""
        self._batcher.close()

    def _send(self, batch: list[_Pending]) -> None:
        try:
            self._publish([p.job for p in batch])
        finally:
            waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = defaultdict(list)
            for pending in batch:
                waiting[pending.loop].append(pending.done)
            for loop, futures in waiting.items():
                # one wake-up of each loop per batch, not one per message
                if not loop.is_closed():
                    loop.call_soon_threadsafe(_settle, futures)

    def _publish(self, jobs: list[Job]) -> None:
        try:
            with self._dispatcher.producer() as producer:
                for job in jobs:
                    queue = queue_of(job.kind, job.params)
                    self._dispatcher.send(job.id, job.kind, job.priority, queue, producer)
                    self._marks.add(job.id)
        except Exception:
            # This job and the rest keep their outbox rows unsent: the relay sends them.
            log.warning(
                "dispatch of %d jobs failed; the relay will retry", len(jobs), exc_info=True
            )


def _settle(futures: list[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)
