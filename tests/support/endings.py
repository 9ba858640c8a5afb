"""Checks the job-end tests share: terminal events seen on NATS and stored, usage charged,
and spark_jobs_finished_total summed over every process that may end a job."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from spark.db.executor import Database
from spark.db.models import EventOutboxRow, EventRow, UsageRecordRow
from spark.domain.events import TERMINAL_TYPES
from spark.events.envelope import decode_event
from tests.support.nats import Subscriber

TERMINAL_VALUES = [t.value for t in TERMINAL_TYPES]


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll check until it holds; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def terminal_on_nats(sub: Subscriber, job_id: str) -> list[str]:
    """The terminal event types the subscriber saw for the job (one per publish)."""
    events = [decode_event(data, subject) for subject, data in list(sub.messages)]
    return [e.type.value for e in events if str(e.job_id) == job_id and e.type in TERMINAL_TYPES]


def terminal_stored(db: Database, job_id: str) -> list[str]:
    """The terminal event types stored in spark_events for the job."""
    with db.transaction() as tx:
        rows = tx.all(
            select(EventRow.type).where(
                EventRow.job_id == uuid.UUID(job_id), EventRow.type.in_(TERMINAL_VALUES)
            )
        )
        return [r.type for r in rows]


def in_event_outbox(db: Database, job_id: str) -> int:
    """How many of the job's events still wait in the event outbox."""
    with db.transaction() as tx:
        envelopes = [r[0] for r in tx.all(select(EventOutboxRow.envelope))]
    return sum(1 for e in envelopes if e.get("job_id") == job_id)


def usage_records(db: Database, job_id: str) -> int:
    """How many usage records charge the job."""
    with db.transaction() as tx:
        query = select(func.count()).where(UsageRecordRow.job_id == uuid.UUID(job_id))
        return int(tx.scalar(query))


def finished_total(texts: list[str]) -> float:
    """spark_jobs_finished_total summed over every label set and every exposition given."""
    return sum(
        sample.value
        for text in texts
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "spark_jobs_finished_total"
    )


def scrape(url: str) -> str:
    """A worker's /metrics."""
    resp = httpx.get(url, timeout=5.0)
    resp.raise_for_status()
    return resp.text


def assert_ended_once(db: Database, sub: Subscriber, job_id: str, expected: str) -> None:
    """Exactly one terminal event, of the expected type, published and stored, and nothing
    left in the outbox that a relay could publish again; exactly one usage charge."""
    wait_for(lambda: terminal_on_nats(sub, job_id) != [], f"a terminal event of {job_id} on NATS")
    wait_for(lambda: terminal_stored(db, job_id) != [], f"a terminal event of {job_id} stored")
    wait_for(lambda: in_event_outbox(db, job_id) == 0, f"{job_id}'s events out of the outbox")
    time.sleep(0.5)  # long enough for a stray second publish from this process to arrive
    seen = terminal_on_nats(sub, job_id)
    assert seen == [expected], f"published: {seen}"
    stored = terminal_stored(db, job_id)
    assert stored == [expected], f"stored: {stored}"
    assert usage_records(db, job_id) == 1
