"""The broker port: how a job's message reaches a worker queue, and what the broker can tell
about messages that never came back."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, cast

import redis

from spark.domain.jobs import JobKind
from spark.kinds import REGISTRY, spec_of

#: the key whose absence tells that the broker lost its data
BROKER_MARKER = "spark:broker-marker"

#: how long live workers get to say which messages they hold
INSPECT_TIMEOUT_S = 1.0

_JOB_TASKS = frozenset(spec.task_name for spec in REGISTRY.values())


@dataclass(frozen=True)
class Delivery:
    """A job message a consumer took from its queue and has not acknowledged."""

    tag: str
    job_id: uuid.UUID


class Dispatcher(Protocol):
    """Sends a job's task message; raises if the broker did not take it."""

    def send(
        self, job_id: uuid.UUID, kind: JobKind, priority: int, queue: str | None = None
    ) -> None:
        """Publish the message for job_id to queue (None: its kind's queue)."""
        ...

    def broker_emptied(self) -> bool:
        """Whether the broker lost its messages since this was last asked (a restart with
        nothing on disk); True the first time it is asked of a broker."""
        ...

    def deliveries(self, older_than_s: float, limit: int) -> list[Delivery]:
        """Job messages taken by a consumer at least older_than_s ago and still unacknowledged."""
        ...

    def held(self, job_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of job_ids live workers hold (running, prefetched or waiting for an ETA)."""
        ...

    def forget(self, deliveries: Iterable[Delivery]) -> None:
        """Drop these unacknowledged deliveries, so the broker never restores them."""
        ...


class CeleryDispatcher:
    """Dispatcher over a Celery app: one message per job, its task id the job id."""

    def __init__(self, app: Any) -> None:
        self._app = app
        #: made on first use, so in the process that uses it (never across a fork)
        self._client: redis.Redis | None = None
        options = dict(app.conf.broker_transport_options or {})
        self._unacked = str(options.get("unacked_key", "unacked"))
        self._unacked_index = str(options.get("unacked_index_key", "unacked_index"))

    def _redis(self) -> redis.Redis:
        if self._client is None:
            url = str(self._app.conf.broker_url)
            self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        return self._client

    def broker_emptied(self) -> bool:
        client = self._redis()
        # A marker kept in the broker itself: a Redis that comes back without its data comes
        # back without the marker too, so SET NX succeeding means every queued message is gone.
        return bool(client.set(BROKER_MARKER, "1", nx=True))

    def deliveries(self, older_than_s: float, limit: int) -> list[Delivery]:
        client = self._redis()
        # Kombu's Redis transport keeps each delivered, unacknowledged message in a hash and
        # the time it was delivered in a sorted set beside it.
        due = time.time() - older_than_s
        # The client returns bytes (no decode_responses); redis-py's stubs cannot know that.
        tags = cast("list[bytes]", client.zrangebyscore(self._unacked_index, 0, due, 0, limit))
        if not tags:
            return []
        raws = cast("list[bytes | None]", client.hmget(self._unacked, tags))
        # Each entry is [message, exchange, routing key].
        found = (
            _job_delivery(tag.decode(), _first(raw)) for tag, raw in zip(tags, raws, strict=True)
        )
        return [d for d in found if d is not None]

    def held(self, job_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        inspect = self._app.control.inspect(timeout=INSPECT_TIMEOUT_S)
        replies = inspect.query_task(*[str(i) for i in job_ids]) or {}
        return {uuid.UUID(task_id) for reply in replies.values() for task_id in reply or {}}

    def forget(self, deliveries: Iterable[Delivery]) -> None:
        tags = [d.tag for d in deliveries]
        if not tags:
            return
        pipe = self._redis().pipeline()
        pipe.zrem(self._unacked_index, *tags)
        pipe.hdel(self._unacked, *tags)
        pipe.execute()

    def queue_depths(self, queues: Sequence[str]) -> dict[str, int]:
        """How many messages wait in each queue, over its priority lists, in one round trip."""
        options = dict(self._app.conf.broker_transport_options or {})
        sep, steps = str(options.get("sep", ":")), list(options.get("priority_steps", [0]))
        # Kombu keeps one list per priority step: the queue's own name for 0, name+sep+step else.
        lists = {q: [q if p == 0 else f"{q}{sep}{p}" for p in steps] for q in queues}
        pipe = self._redis().pipeline(transaction=False)
        for names in lists.values():
            for name in names:
                pipe.llen(name)
        lengths = iter(cast("list[int]", pipe.execute()))
        return {q: sum(next(lengths) for _ in names) for q, names in lists.items()}

    def send(
        self,
        job_id: uuid.UUID,
        kind: JobKind,
        priority: int,
        queue: str | None = None,
        producer: Any = None,
    ) -> None:
        # Celery's Redis priorities run 0 (first) to 9; SPARK's run 0 (lowest) to 9.
        spec = spec_of(kind)
        self._app.send_task(
            spec.task_name,
            args=[str(job_id)],
            task_id=str(job_id),
            # a queue of its own per build target: the Redis transport cannot filter on the
            # consumer's side, so a builder takes only the lists of the targets it declared
            queue=queue or spec.queue.value,
            priority=9 - priority,
            producer=producer,
        )

    def producer(self) -> AbstractContextManager[Any]:
        """One producer for several sends (saves a pool checkout per message)."""
        return cast("AbstractContextManager[Any]", self._app.producer_or_acquire())


def _first(raw: bytes | None) -> Any:
    """The message of a Redis unacknowledged entry; None when it is missing or unreadable."""
    try:
        return json.loads(raw)[0] if raw is not None else None
    except (ValueError, IndexError, TypeError, KeyError):
        return None


def _job_delivery(tag: str, message: Any) -> Delivery | None:
    """The delivery of a SPARK job message; None for other tasks and unreadable entries."""
    try:
        headers = message["headers"]
        if headers.get("task") not in _JOB_TASKS:
            return None
        return Delivery(tag, uuid.UUID(str(headers["id"])))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
