"""What every job's end must leave behind, checked over many jobs at once: one terminal
event, one usage record, month counters that add up to the records, and no dispatch row."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select

from spark.db.executor import Database
from spark.db.models import EventRow, JobRow, OutboxRow, UsageCounterRow, UsageRecordRow
from tests.support.endings import TERMINAL_VALUES
from tests.support.jobs import TERMINAL


def wait_all_terminal(db: Database, ids: Sequence[str], timeout: float) -> float:
    """Wait until every job is terminal, its terminal event stored (the consumer stores it a
    moment after the end, or after the relay sent it again) and its dispatch row pruned;
    returns how long it took, or fails naming jobs still open."""
    start = time.monotonic()
    wanted = [uuid.UUID(i) for i in ids]
    while True:
        open_, unannounced, rows = _unfinished(db, wanted)
        if not open_ and not unannounced and not rows:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(
                f"after {timeout}s: {len(open_)} job(s) not terminal {open_[:5]},"
                f" {unannounced} without a stored terminal event, {rows} dispatch row(s) left"
            )
        time.sleep(0.25)


def _unfinished(db: Database, wanted: list[uuid.UUID]) -> tuple[list[object], int, int]:
    """Jobs still open, how many have no terminal event stored, and dispatch rows left."""
    with db.transaction() as tx:
        query = select(JobRow.id, JobRow.state, JobRow.attempts).where(JobRow.id.in_(wanted))
        open_: list[object] = [
            (r.id, r.state, r.attempts) for r in tx.all(query) if r.state not in TERMINAL
        ]
        announced = tx.scalar(
            select(func.count(func.distinct(EventRow.job_id))).where(
                EventRow.job_id.in_(wanted), EventRow.type.in_(TERMINAL_VALUES)
            )
        )
        rows = tx.scalar(select(func.count()).where(OutboxRow.job_id.in_(wanted)))
    return open_, len(wanted) - int(announced or 0), int(rows or 0)


def assert_each_ended_once(db: Database, ids: Sequence[str]) -> None:
    """Exactly one terminal event and one usage record per job; counters match the records."""
    wanted = [uuid.UUID(i) for i in ids]
    with db.transaction() as tx:
        per_job = (
            select(EventRow.job_id, func.count())
            .where(EventRow.job_id.in_(wanted), EventRow.type.in_(TERMINAL_VALUES))
            .group_by(EventRow.job_id)
        )
        events = {job_id: count for job_id, count in tx.all(per_job)}
        records = tx.scalar(select(func.count()).where(UsageRecordRow.job_id.in_(wanted)))
        counted = tx.scalar(select(func.coalesce(func.sum(UsageCounterRow.jobs), 0)))
        recorded = tx.scalar(select(func.count()).select_from(UsageRecordRow))
        dispatches = tx.scalar(select(func.count()).where(OutboxRow.job_id.in_(wanted)))
    doubled = {k: v for k, v in events.items() if v != 1}
    assert not doubled, f"jobs with several terminal events: {doubled}"
    assert len(events) == len(wanted), (
        f"{len(wanted) - len(events)} job(s) without a terminal event"
    )
    assert records == len(wanted)
    assert counted == recorded, "month counters disagree with the usage records"
    assert dispatches == 0, f"ended jobs left {dispatches} rows in the dispatch outbox"
