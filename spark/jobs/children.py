"""Child jobs: a parent that runs steps as jobs of their own and waits for each one without
holding a worker.

- **Hand-over.** The parent's own run, its work done, inserts its first child and marks
  itself waiting on it (`waiting_on`, with what it carries from step to step in
  `continuation`) in one transaction, and its task returns: the worker slot is free. The
  parent stays `running` — to its owner it is, its steps are — with no worker, so the
  reaper and takeovers leave it alone.
- **Continuation.** When a child ends, the process that ended it asks for the parent to be
  continued (a nudge, `CONTINUE_TASK`); the upkeep continues every parent whose child has
  ended, so a nudge lost with its process costs seconds, never the parent. Continuing asks the
  parent's continuation what follows the child — another child, or the parent's end — and
  starts the next child only if the parent still waits on the one that ended (compare and
  set, in the transaction that inserts it), so two continuers never start a step twice, and
  ends the parent through `end_job`, fenced by its attempt, so it ends once.
- **Cancel.** Canceling a parent flags it and cancels its open children; the child's end
  continues the parent, which sees the flag and ends canceled. A flagged parent never starts
  another child.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from spark.broker.dispatch import Dispatcher
from spark.db import children as child_queries
from spark.db import jobs as job_queries
from spark.db import submissions as submission_queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.events import EventType
from spark.domain.jobs import Job, JobKind
from spark.events.envelope import job_event
from spark.events.sink import EventSink
from spark.faults import pause_point
from spark.jobs.ending import Ending, Held, end_job
from spark.jobs.submit import NewJob, queued_job, send_stored
from spark.kinds import queue_of

log = logging.getLogger(__name__)

#: the task that continues a parent whose child ended (run by a maintenance worker)
CONTINUE_TASK = "spark.maintenance.continue_parent"
#: the upkeep's task that continues every parent whose child ended without a nudge arriving
CONTINUE_READY_TASK = "spark.maintenance.continue_parents"

#: how often a continuation re-reads a parent that moved while it decided
_ROUNDS = 3


class _Moved(Exception):
    """The parent moved on, was asked to cancel, or is no longer this attempt's."""


@dataclass(frozen=True)
class Next:
    """The child to start next, and what the parent carries until it ends."""

    kind: JobKind
    params: Mapping[str, Any]
    continuation: Mapping[str, Any]
    #: the parent's progress while it waits; the child's id is appended to the message
    percent: int
    message: str
    #: the project the child works on (None: the parent's)
    project_id: uuid.UUID | None = None


#: what follows a child's end: (parent, what it carries, the child that ended) → the next
#: child, or how the parent ends
Decide = Callable[[Job, Mapping[str, Any], Job], "Next | Ending"]


@dataclass(frozen=True)
class Parenting:
    """What starting and continuing children uses."""

    db: Database
    events: EventSink
    dispatcher: Dispatcher


def hand_over(p: Parenting, parent: Job, attempt: int, first: Next) -> Job | None:
    """Start the parent's first child and leave the parent waiting on it; None when the
    parent was asked to cancel or this attempt lost it (nothing was started)."""
    return _start(p, parent, attempt, first)


def _start(p: Parenting, parent: Job, attempt: int, step: Next) -> Job | None:
    child = queued_job(
        NewJob(
            owner=parent.owner,
            kind=step.kind,
            params=step.params,
            subject=parent.subject,
            session_id=parent.session_id,
            project_id=step.project_id or parent.project_id,
            parent_id=parent.id,
            priority=parent.priority,
            request_id=parent.request_id,
        )
    )
    submission = submission_queries.Submission(
        child, request_hash="", queue=queue_of(step.kind, step.params)
    )
    progress = (step.percent, f"{step.message} (job {child.id})")
    try:
        with p.db.transaction() as tx:
            if not child_queries.step(
                tx, parent, attempt, child.id, step.continuation, progress, utcnow()
            ):
                raise _Moved
            submission_queries.insert_jobs(tx, [submission])
    except _Moved:
        return None
    pause_point("child_started")
    # The outbox row is committed: a send that fails here is the relay's to repeat.
    send_stored(p.db, p.dispatcher, child, None)
    data = {"percent": progress[0], "message": progress[1]}
    p.events.publish(job_event(parent, EventType.PROGRESS, data))
    log.info("job %s waits for %s %s", parent.id, step.kind.value, child.id)
    return child


def continue_parent(p: Parenting, parent_id: uuid.UUID, decide: Decide) -> Job | None:
    """Move the parent on if the child it waits for has ended: start its next child, or end
    it. Returns the parent once ended (None: still waiting, or ended by someone else)."""
    for _ in range(_ROUNDS):
        found = child_queries.waiting(p.db, parent_id)
        if found is None or found.parent.waiting_on is None:
            return None
        parent = found.parent
        child = job_queries.get_job(p.db, found.parent.waiting_on)
        if child is None or not child.state.terminal:
            return None
        pause_point("continuing")
        decision = decide(parent, found.continuation, child)
        if isinstance(decision, Ending):
            return end_job(p.db, p.events, parent, Held(parent.attempts), decision)
        if _start(p, parent, parent.attempts, decision) is not None:
            return None
        # It moved (another continuer, or a cancel): decide again on what it is now.
    return None


def continue_ready(p: Parenting, decide: Decide, batch: int = 100) -> int:
    """Continue every parent whose child has ended; returns how many ended."""
    ended = 0
    for parent_id in child_queries.ready(p.db, batch):
        try:
            ended += continue_parent(p, parent_id, decide) is not None
        except Exception:
            log.exception("continuing job %s failed; the next round tries again", parent_id)
    return ended
