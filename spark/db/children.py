"""Named statements for parents that wait for a child job without holding a worker: the
step from one child to the next (with the next child's insert, in the caller's
transaction), the read of a waiting parent, and the scans of the upkeep and of cancels."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text

from spark.db.executor import Executor, compiled
from spark.db.jobs import JOBS, to_job
from spark.domain.jobs import Job, JobState

_OPEN = (JobState.QUEUED.value, JobState.RUNNING.value)


@dataclass(frozen=True)
class Waiting:
    """A parent waiting for a child, and what it carries from step to step."""

    parent: Job
    continuation: Mapping[str, Any]


# The parent moves on to its next child only if it still is where the caller read it: held
# at this attempt, waiting on the child the caller saw end (NULL: the parent's own run is
# handing over to its first child), and not asked to cancel. Its heartbeat is stamped, so
# a scan of stale jobs that read it before this commit is fenced out by its attempt alone.
_STEP = compiled(
    text(
        """
UPDATE jobs SET waiting_on = :child, continuation = :continuation,
    progress_percent = :percent, progress_message = :message, heartbeat_at = :now, worker = NULL
WHERE id = :id AND state = :running AND attempts = :attempt
  AND waiting_on IS NOT DISTINCT FROM CAST(:expected AS uuid) AND NOT cancel_requested
RETURNING id
"""
    )
)


def step(
    q: Executor,
    parent: Job,
    attempt: int,
    child_id: uuid.UUID,
    continuation: Mapping[str, Any],
    progress: tuple[int, str],
    now: datetime,
) -> bool:
    """The parent now waits on child_id (from parent.waiting_on); False if it moved on, was
    asked to cancel or lost its attempt since it was read."""
    params = {
        "id": parent.id,
        "attempt": attempt,
        "expected": parent.waiting_on,
        "child": child_id,
        "continuation": dict(continuation),
        "percent": progress[0],
        "message": progress[1][:500],
        "now": now,
        "running": JobState.RUNNING.value,
    }
    return q.one(_STEP, params) is not None


_WAITING = compiled(
    select(JOBS).where(
        JOBS.c.id == bindparam("id"),
        JOBS.c.state == JobState.RUNNING.value,
        JOBS.c.waiting_on.is_not(None),
    )
)


def waiting(q: Executor, parent_id: uuid.UUID) -> Waiting | None:
    """The parent if it is running and waiting for a child; None otherwise."""
    row = q.one(_WAITING, {"id": parent_id})
    if row is None:
        return None
    return Waiting(to_job(row), row.continuation or {})


# Parents whose awaited child has ended: what a lost nudge leaves for the upkeep.
_READY = compiled(
    text(
        """
SELECT p.id FROM jobs p JOIN jobs c ON c.id = p.waiting_on
WHERE p.waiting_on IS NOT NULL AND p.state = :running AND c.state <> ALL(CAST(:open AS varchar[]))
LIMIT :limit
"""
    )
)


def ready(q: Executor, limit: int) -> list[uuid.UUID]:
    """Waiting parents whose child has ended, up to limit."""
    params = {"running": JobState.RUNNING.value, "open": list(_OPEN), "limit": limit}
    return [row.id for row in q.all(_READY, params)]


_OPEN_CHILDREN = compiled(
    text(
        """
SELECT id FROM jobs
WHERE parent_id = :id AND owner = :owner AND state = ANY(CAST(:open AS varchar[]))
"""
    )
)


def open_children(q: Executor, parent_id: uuid.UUID, owner: str) -> list[uuid.UUID]:
    """The parent's children that have not ended (a cancel of the parent cancels them)."""
    params = {"id": parent_id, "owner": owner, "open": list(_OPEN)}
    return [row.id for row in q.all(_OPEN_CHILDREN, params)]
