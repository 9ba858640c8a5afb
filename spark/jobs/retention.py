"""Retention: the hourly rollups brought up to date, then old rows pruned in short batches.

One run at a time (a second beat's run finds the lock held and does nothing). Raw rows are
only pruned once their hour is rolled up and out of the re-roll window, so a rollup never
loses a row it counted; event partitions are dropped whole.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from spark import metrics
from spark.config import Settings
from spark.db import events as event_queries
from spark.db import retention as queries
from spark.db import rollups
from spark.db.executor import Database, Transaction
from spark.storage.artifacts import ArtifactStorage
from spark.storage.logs import LogStorage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    """Days each data set is kept, and the most rows one delete transaction removes."""

    events_days: int
    jobs_days: int
    usage_days: int
    audit_days: int
    batch: int = 1000

    @classmethod
    def of(cls, settings: Settings) -> RetentionPolicy:
        """The policy SPARK_RETENTION_* configure."""
        return cls(
            settings.retention_events_days,
            settings.retention_jobs_days,
            settings.retention_usage_days,
            settings.retention_audit_days,
            settings.retention_batch,
        )


@dataclass(frozen=True)
class RetentionReport:
    """What one run did; `skipped` when another run held the lock."""

    skipped: bool = False
    hours_rolled: int = 0
    deleted: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class JobFiles:
    """Where a job's files live, to be removed with its row."""

    artifacts: ArtifactStorage
    logs: LogStorage


def run_retention(
    db: Database, policy: RetentionPolicy, files: JobFiles, now: datetime
) -> RetentionReport:
    """Roll up every complete hour, then prune what the policy says is old."""
    with queries.exclusive(db, "retention") as held:
        if not held:
            log.info("retention: another run holds the lock; nothing to do")
            return RetentionReport(skipped=True)
        hours = roll_up_complete_hours(db, now)
        rolled = rollups.mark(db)
        deleted = _prune(db, policy, files, now, rolled)
    metrics.retention_run(deleted, hours)
    log.info("retention: %d hour(s) rolled up; removed %s", hours, deleted)
    return RetentionReport(False, hours, deleted)


def roll_up_complete_hours(db: Database, now: datetime) -> int:
    """Roll up the hours from the re-roll window before the mark (or the oldest raw row) up
    to the current hour, a day per transaction; returns how many hours were rolled up."""
    end = rollups.hour_floor(now)
    with db.transaction() as tx:
        mark = rollups.mark(tx)
        start = mark - rollups.REROLL if mark is not None else rollups.first_hour(tx)
    if start is None or start >= end:
        return 0
    hours = 0
    while start < end:
        stop = min(start + rollups.CHUNK, end)
        with db.transaction() as tx:
            rollups.roll_up(tx, start, stop)
        hours += int((stop - start) / rollups.HOUR)
        start = stop
    return hours


def _prune(
    db: Database, policy: RetentionPolicy, files: JobFiles, now: datetime, rolled: datetime | None
) -> dict[str, int]:
    def days(n: int) -> datetime:
        return now - timedelta(days=n)

    # Rows still in the re-roll window (or never rolled up) stay: a rollup counts them.
    counted = rolled - rollups.REROLL if rolled is not None else None
    # Events go by whole monthly partitions (counted as such), never row by row.
    deleted = {"event_partitions": _prune_events(db, days(policy.events_days))}
    batch = policy.batch
    # Dead letters are kept as long as the events they failed to become. The event outbox
    # holds only events NATS has not taken yet: pruning it would lose them.
    deleted["event_dead_letters"] = _batches(
        db, queries.delete_dead_letters, days(policy.events_days), batch
    )
    if counted is not None:
        jobs_before = min(days(policy.jobs_days), counted)

        def jobs(tx: Transaction, before: datetime, n: int) -> int:
            return _jobs_batch(tx, files, before, n)

        deleted["jobs"] = _batches(db, jobs, jobs_before, batch)
        deleted["webhook_deliveries"] = _batches(db, queries.delete_deliveries, jobs_before, batch)
        usage_before = min(days(policy.usage_days), counted)
        deleted["usage_records"] = _batches(db, queries.delete_usage_records, usage_before, batch)
        # Call records are usage too: kept as long, their sums outliving them in the rollup.
        deleted["calls"] = _batches(db, queries.delete_calls, usage_before, batch)
    deleted["audit"] = _batches(db, queries.delete_audit, days(policy.audit_days), batch)
    return deleted


def _prune_events(db: Database, before: datetime) -> int:
    dropped = event_queries.drop_partitions_before(db, before.date())
    if dropped:
        log.info("retention: dropped event partitions %s", ", ".join(dropped))
    return len(dropped)


def _jobs_batch(tx: Transaction, files: JobFiles, before: datetime, batch: int) -> int:
    ids: list[uuid.UUID] = queries.delete_ended_jobs(tx, before, batch)
    # The files go before the commit: should it fail, those jobs stay without their files,
    # which were due to go anyway, and the next run deletes their rows.
    for job_id in ids:
        files.artifacts.remove(job_id)
        files.logs.remove(job_id)
    return len(ids)


def _batches(
    db: Database, delete: Callable[[Transaction, datetime, int], int], before: datetime, batch: int
) -> int:
    """Run one batch per transaction until a batch comes back short; the total removed.

    A short batch means nothing more is due, or the rest is locked by a concurrent run, which
    deletes it.
    """
    total = 0
    while True:
        with db.transaction() as tx:
            n = delete(tx, before, batch)
        total += n
        if n < batch:
            return total
