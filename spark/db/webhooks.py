"""Named queries for webhook deliveries: claiming an attempt, recording it, finding what is due."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, func, insert, select, update

from spark.db.executor import Executor, compiled
from spark.db.models import JobRow, ProjectRow, WebhookDeliveryRow, WebhookRow
from spark.domain.jobs import TERMINAL_STATES, JobKind
from spark.domain.projects import Delivery

_D = WebhookDeliveryRow


@dataclass(frozen=True)
class DueDelivery:
    """A finished build's webhook that has not been answered with a 2xx yet."""

    job_id: uuid.UUID
    webhook_id: uuid.UUID
    project_id: uuid.UUID
    #: attempts made so far, and when the last one started
    attempts: int
    last_attempt_at: datetime | None
    #: whether the last attempt is still waiting for the receiver's answer
    in_flight: bool
    #: no attempt before this (the latest failure's backoff or Retry-After)
    not_before: datetime | None = None


_DELIVERIES = cast(Table, _D.__table__)
_CLAIMED = ("id", "delivery_id", "webhook_id", "job_id", "attempt", "ok", "status_code", "error")
_CLAIM = compiled(
    insert(_DELIVERIES).values({c: bindparam(c) for c in (*_CLAIMED, "duration_ms", "created_at")})
)


def claim_attempt(q: Executor, delivery: Delivery) -> None:
    """Record an attempt as started (ok unknown); UniqueViolation if another process has it."""
    q.run(_CLAIM, {column: getattr(delivery, column) for column in _CLAIM.defaults})


_COMPLETE = compiled(
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("attempt_id"))
    .values({c: bindparam(c) for c in ("ok", "status_code", "error", "duration_ms", "not_before")})
)


def complete_attempt(
    q: Executor,
    attempt_id: uuid.UUID,
    ok: bool,
    status: int | None,
    error: str | None,
    ms: int,
    not_before: datetime | None = None,
) -> None:
    """Record how a claimed attempt went, and when a failed one may be tried again."""
    q.run(
        _COMPLETE,
        {
            "attempt_id": attempt_id,
            "ok": ok,
            "status_code": status,
            "error": error,
            "duration_ms": ms,
            "not_before": not_before,
        },
    )


_SUCCEEDED = compiled(
    select(_DELIVERIES.c.id)
    .where(_DELIVERIES.c.delivery_id == bindparam("delivery_id"), _DELIVERIES.c.ok.is_(True))
    .limit(1)
)


def delivery_succeeded(q: Executor, delivery_id: uuid.UUID) -> bool:
    """Whether any attempt of this delivery was answered with a 2xx."""
    return q.one(_SUCCEEDED, {"delivery_id": delivery_id}) is not None


def due_deliveries(
    q: Executor, kinds: Collection[JobKind], since: datetime, max_attempts: int, limit: int = 100
) -> list[DueDelivery]:
    """Webhooks of jobs of kinds that ended after since with no 2xx yet and attempts left."""
    succeeded = func.max(case((_D.ok.is_(True), 1), else_=0))
    open_attempt = func.max(case((_D.ok.is_(None), _D.attempt), else_=0))
    query = (
        select(
            JobRow.id,
            WebhookRow.id,
            WebhookRow.project_id,
            func.count(_D.id),
            func.max(_D.created_at),
            open_attempt,
            # Later attempts start only after earlier ones' not_before: the max is the latest.
            func.max(_D.not_before),
        )
        .join(JobRow, JobRow.project_id == WebhookRow.project_id)
        .outerjoin(_D, (_D.webhook_id == WebhookRow.id) & (_D.job_id == JobRow.id))
        .where(
            JobRow.kind.in_([kind.value for kind in kinds]),
            JobRow.state.in_([state.value for state in TERMINAL_STATES]),
            JobRow.finished_at > since,
        )
        .group_by(JobRow.id, WebhookRow.id, WebhookRow.project_id)
        .having(succeeded == 0, func.count(_D.id) < max_attempts)
        .limit(limit)
    )
    return [
        DueDelivery(job, hook, project, count, last, bool(open_) and open_ == count, not_before)
        for job, hook, project, count, last, open_, not_before in q.all(query)
    ]


def _to_delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        delivery_id=row.delivery_id,
        webhook_id=row.webhook_id,
        url=row.url,
        job_id=row.job_id,
        attempt=row.attempt,
        ok=row.ok,
        status_code=row.status_code,
        error=row.error,
        duration_ms=row.duration_ms,
        created_at=row.created_at,
    )


def list_deliveries(q: Executor, project_id: uuid.UUID, owner: str, limit: int) -> list[Delivery]:
    """The latest delivery attempts to the owner's project's webhooks, newest first."""
    query = (
        select(*_D.__table__.c, WebhookRow.url)
        .join(WebhookRow, WebhookRow.id == _D.webhook_id)
        .join(ProjectRow, ProjectRow.id == WebhookRow.project_id)
        .where(ProjectRow.id == project_id, ProjectRow.owner == owner)
        .order_by(_D.created_at.desc(), _D.id.desc())
        .limit(limit)
    )
    return [_to_delivery(row) for row in q.all(query)]
