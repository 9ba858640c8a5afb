"""Named queries for the dispatch outbox: marking sends, finding what to send again, pruning."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ARRAY, Uuid, and_, any_, bindparam, delete, exists, or_, select, update

from spark.db.executor import Executor, Transaction, compiled
from spark.db.jobs import JOBS, OUTBOX
from spark.domain.jobs import JobKind, JobState


@dataclass(frozen=True)
class Dispatch:
    """An outbox row due to be sent to the broker."""

    job_id: uuid.UUID
    kind: JobKind
    priority: int
    #: the queue the message goes to; None (rows from before routing per job): the kind's
    queue: str | None = None


_JOB_IDS = bindparam("job_ids", type_=ARRAY(Uuid()))
_MARK_SENT = compiled(
    update(OUTBOX)
    .where(OUTBOX.c.job_id == any_(_JOB_IDS))
    .values(sent_at=bindparam("now"), sends=OUTBOX.c.sends + 1)
)


def mark_sent(q: Executor, job_ids: Sequence[uuid.UUID], now: datetime) -> None:
    """Record that these jobs' messages reached the broker."""
    if job_ids:
        q.run(_MARK_SENT, {"job_ids": list(job_ids), "now": now})


#: the outbox row's job is still waiting for a worker
_STILL_QUEUED = exists().where(JOBS.c.id == OUTBOX.c.job_id, JOBS.c.state == JobState.QUEUED.value)


def due_dispatches(
    tx: Transaction,
    now: datetime,
    min_age: timedelta,
    resend_after: Mapping[JobKind, timedelta],
    limit: int,
) -> list[Dispatch]:
    """Outbox rows to send: never sent (or known lost) and older than min_age, or sent once and
    unclaimed for longer than their kind's resend_after.

    The age-based re-send is a blind safety net, so it happens once per queued stretch: a
    backlog that outlasts it costs one extra message per job, not one per window. Messages
    known lost (a broker that lost its data, a delivery to a dead worker) are marked unsent
    and go again whatever their count.
    """
    c = OUTBOX.c
    conditions = [and_(c.sent_at.is_(None), c.created_at < now - min_age)]
    for kind, after in resend_after.items():
        conditions.append(and_(c.kind == kind.value, c.sends < 2, c.sent_at < now - after))
    query = (
        select(c.job_id, c.kind, c.priority, c.queue)
        .where(or_(*conditions), _STILL_QUEUED)
        .order_by(c.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [Dispatch(r.job_id, JobKind(r.kind), r.priority, r.queue) for r in tx.all(query)]


_PRUNE = compiled(
    delete(OUTBOX).where(
        exists().where(JOBS.c.id == OUTBOX.c.job_id, JOBS.c.state != JobState.QUEUED.value)
    )
)


def prune_outbox(q: Executor) -> int:
    """Delete outbox rows whose job is no longer queued; returns how many went."""
    return q.run(_PRUNE)


_LOST = update(OUTBOX).where(_STILL_QUEUED, OUTBOX.c.sent_at.is_not(None)).values(sent_at=None)
_MARK_ALL_UNSENT = compiled(_LOST)
_MARK_UNSENT = compiled(_LOST.where(OUTBOX.c.job_id == any_(_JOB_IDS)))


def mark_unsent(q: Executor, job_ids: Sequence[uuid.UUID] | None = None) -> int:
    """Forget that the messages of still-queued jobs were sent (the broker lost them), so the
    relay sends each once more: every such job, or only job_ids; returns how many rows."""
    if job_ids is None:
        return q.run(_MARK_ALL_UNSENT)
    return q.run(_MARK_UNSENT, {"job_ids": list(job_ids)})
