"""Named queries for the dispatch outbox: marking sends, finding what to send again, pruning."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from spark.db.jobs import JOBS, OUTBOX
from spark.db.models import OutboxRow
from spark.domain.jobs import JobKind, JobState


@dataclass(frozen=True)
class Dispatch:
    """An outbox row due to be sent to the broker."""

    job_id: uuid.UUID
    kind: JobKind
    priority: int


def mark_sent(s: Session, job_ids: Sequence[uuid.UUID], now: datetime) -> None:
    """Record that these jobs' messages reached the broker."""
    if job_ids:
        s.execute(
            update(OUTBOX)
            .where(OutboxRow.job_id.in_(job_ids))
            .values(sent_at=now, sends=OutboxRow.sends + 1)
        )


#: the outbox row's job is still waiting for a worker
_STILL_QUEUED = exists().where(JOBS.c.id == OUTBOX.c.job_id, JOBS.c.state == JobState.QUEUED.value)


def due_dispatches(
    s: Session,
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
    conditions = [and_(OutboxRow.sent_at.is_(None), OutboxRow.created_at < now - min_age)]
    for kind, after in resend_after.items():
        conditions.append(
            and_(OutboxRow.kind == kind.value, OutboxRow.sends < 2, OutboxRow.sent_at < now - after)
        )
    query = (
        select(OutboxRow.job_id, OutboxRow.kind, OutboxRow.priority)
        .where(or_(*conditions), _STILL_QUEUED)
        .order_by(OutboxRow.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [Dispatch(r.job_id, JobKind(r.kind), r.priority) for r in s.execute(query)]


def prune_outbox(s: Session) -> int:
    """Delete outbox rows whose job is no longer queued; returns how many went."""
    done_with = exists().where(JOBS.c.id == OUTBOX.c.job_id, JOBS.c.state != JobState.QUEUED.value)
    result = s.execute(delete(OUTBOX).where(done_with))
    return int(getattr(result, "rowcount", 0) or 0)


def mark_unsent(s: Session, job_ids: Sequence[uuid.UUID] | None = None) -> int:
    """Forget that the messages of still-queued jobs were sent (the broker lost them), so the
    relay sends each once more: every such job, or only job_ids; returns how many rows."""
    lost = update(OUTBOX).where(_STILL_QUEUED, OUTBOX.c.sent_at.is_not(None))
    if job_ids is not None:
        lost = lost.where(OUTBOX.c.job_id.in_(job_ids))
    lost = lost.values(sent_at=None)
    result = s.execute(lost)
    return int(getattr(result, "rowcount", 0) or 0)
