"""The broker port: how a job's message reaches a worker queue."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from spark.domain.jobs import JobKind
from spark.kinds import spec_of


class Dispatcher(Protocol):
    """Sends a job's task message; raises if the broker did not take it."""

    def send(self, job_id: uuid.UUID, kind: JobKind, priority: int) -> None:
        """Publish the message for job_id to its kind's queue."""
        ...


class CeleryDispatcher:
    """Dispatcher over a Celery app: one message per job, its task id the job id."""

    def __init__(self, app: Any) -> None:
        self._app = app

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
