"""The broker port: how a job's message reaches a worker queue."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import redis

from spark.domain.jobs import JobKind
from spark.kinds import spec_of

#: the key whose absence tells that the broker lost its data
BROKER_MARKER = "spark:broker-marker"


class Dispatcher(Protocol):
    """Sends a job's task message; raises if the broker did not take it."""

    def send(self, job_id: uuid.UUID, kind: JobKind, priority: int) -> None:
        """Publish the message for job_id to its kind's queue."""
        ...

    def broker_emptied(self) -> bool:
        """Whether the broker lost its messages since this was last asked (a restart with
        nothing on disk); True the first time it is asked of a broker."""
        ...


class CeleryDispatcher:
    """Dispatcher over a Celery app: one message per job, its task id the job id."""

    def __init__(self, app: Any) -> None:
        self._app = app
        #: made on first use, so in the process that uses it (never across a fork)
        self._marker_client: redis.Redis | None = None

    def broker_emptied(self) -> bool:
        url = str(self._app.conf.broker_url or "")
        if not url.startswith(("redis://", "rediss://")):
            # The file broker keeps its messages on disk; nothing to detect.
            return False
        if self._marker_client is None:
            self._marker_client = redis.Redis.from_url(
                url, socket_timeout=5, socket_connect_timeout=5
            )
        # A marker kept in the broker itself: a Redis that comes back without its data comes
        # back without the marker too, so SET NX succeeding means every queued message is gone.
        return bool(self._marker_client.set(BROKER_MARKER, "1", nx=True))

    def send(self, job_id: uuid.UUID, kind: JobKind, priority: int) -> None:
        # Celery's Redis priorities run 0 (first) to 9; SPARK's run 0 (lowest) to 9.
        spec = spec_of(kind)
        self._app.send_task(
            spec.task_name,
            args=[str(job_id)],
            task_id=str(job_id),
            queue=spec.queue.value,
            priority=9 - priority,
        )
