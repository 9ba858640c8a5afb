"""A held job's end: one statement writes the terminal row, the usage charge and the outcome
event's outbox row, or, if anything of it fails or the attempt lost the job, none of them."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from spark.broker.dispatch import CeleryDispatcher
from spark.db import jobs as job_queries
from spark.db import running
from spark.db.executor import Database, Params, Statement, Transaction, bound
from spark.db.types import utcnow
from spark.db.usage import UsageRecord
from spark.domain.events import EventType
from spark.domain.jobs import Claim, JobKind, JobState
from spark.events.envelope import job_event
from spark.events.publisher import NatsPublisher
from spark.events.sink import EventSink
from spark.jobs import lifecycle
from spark.jobs.ending import Ending, Held, end_job
from spark.jobs.submit import NewJob, submit


def claimed(db: Database, dispatcher: CeleryDispatcher, sink: EventSink) -> Claim:
    params = {"prompt": "a coin that spins", "class_name": "Coin"}
    new = NewJob(owner="alice", kind=JobKind.GENERATE_SCRIPT, params=params, request_hash="x")
    job = submit(db, dispatcher, new).job
    held = lifecycle.claim(db, sink, job.id, "w:1", lease_s=30, max_attempts=3)
    assert held is not None
    return held


def written(db: Database, job_id: uuid.UUID) -> dict[str, Any]:
    """The job's state, how many usage records and counted jobs it has, and its events
    waiting in the outbox."""
    with db.transaction() as tx:
        row = tx.one(
            text(
                "SELECT (SELECT state FROM jobs WHERE id = :id) AS state,"
                " (SELECT count(*) FROM usage_records WHERE job_id = :id) AS usage,"
                " (SELECT coalesce(sum(jobs), 0) FROM usage_counters WHERE owner = 'alice')"
                " AS counted,"
                " (SELECT array_agg(envelope->>'type' ORDER BY created_at) FROM event_outbox"
                "  WHERE envelope->>'job_id' = CAST(:id AS text)) AS events"
            ),
            {"id": job_id},
        )
    return {"state": row.state, "usage": row.usage, "counted": row.counted, "events": row.events}


@pytest.fixture
def sink(db: Database) -> Iterator[EventSink]:
    """A publisher whose NATS never answers (nothing listens on port 1): every event waits in
    the outbox, where the test reads it."""
    events = NatsPublisher("nats://127.0.0.1:1", db)
    yield events
    events.close()


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement this thread runs, and BEGIN for every transaction it opens."""
    seen: list[str] = []
    thread = threading.get_ident()
    run, begin = Transaction._execute, Database.transaction

    def execute(tx: Transaction, stmt: Statement, params: Params) -> Any:
        if threading.get_ident() == thread:
            seen.append(bound(stmt, params)[0])
        return run(tx, stmt, params)

    def transaction(db: Database) -> Any:
        seen.append("BEGIN")
        return begin(db)

    monkeypatch.setattr(Transaction, "_execute", execute)
    monkeypatch.setattr(Database, "transaction", transaction)
    return seen


def test_a_claimed_job_ends_in_one_statement_with_its_usage_and_outcome(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink, statements: list[str]
) -> None:
    """One round trip, no transaction: the terminal row, the usage charge and the outcome event."""
    held = claimed(db, dispatcher, sink)
    sink.publish(job_event(held.job, EventType.STARTED, {"attempt": held.attempt}))
    assert sink.flush(10)  # the started event waits in the outbox before the end begins
    statements.clear()
    ending = Ending(JobState.SUCCEEDED, {"tokens": {"prompt": 3, "completion": 4}})
    job = end_job(db, sink, held.job, Held(held.attempt), ending)
    assert job is not None and job.state is JobState.SUCCEEDED and job.progress.percent == 100
    assert len(statements) == 1 and statements[0].startswith("\nWITH done AS (")
    assert written(db, held.job.id) == {
        "state": "succeeded",
        "usage": 1,
        "counted": 1,
        "events": ["started", "completed"],
    }


def test_an_end_that_fails_midway_leaves_no_state_usage_or_event(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """A failure inside the statement (here the usage counter refuses) undoes all of it: the
    job is still running, to be taken over, and no outcome event waits to be sent."""
    held = claimed(db, dispatcher, sink)
    with db.transaction() as tx:
        tx.run(
            text(
                "CREATE FUNCTION spark_test_refuse() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'refused'; END $$;"
                " CREATE TRIGGER spark_test_refuse BEFORE INSERT ON usage_counters"
                " FOR EACH ROW EXECUTE FUNCTION spark_test_refuse()"
            )
        )
    try:
        with pytest.raises(psycopg.errors.RaiseException):
            end_job(db, sink, held.job, Held(held.attempt), Ending(JobState.SUCCEEDED, {}))
    finally:
        with db.transaction() as tx:
            tx.run(text("DROP TRIGGER spark_test_refuse ON usage_counters"))
            tx.run(text("DROP FUNCTION spark_test_refuse()"))
    assert written(db, held.job.id) == {
        "state": "running",
        "usage": 0,
        "counted": 0,
        "events": None,
    }


def test_an_end_by_an_attempt_that_lost_the_job_writes_nothing(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """The fence is part of the statement: a stale attempt charges nothing and says nothing."""
    held = claimed(db, dispatcher, sink)
    with db.transaction() as tx:
        taken = job_queries.take_over(tx, held.job, "w:2", utcnow())
    assert taken is not None
    ending = Ending(JobState.SUCCEEDED, {})
    assert end_job(db, sink, held.job, Held(held.attempt), ending) is None
    assert written(db, held.job.id) == {
        "state": "running",
        "usage": 0,
        "counted": 0,
        "events": None,
    }


def test_an_end_staged_for_nats_puts_its_event_in_the_outbox_with_the_end(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """With NATS carrying events the terminal event waits in the outbox, written atomically."""
    held = claimed(db, dispatcher, sink)
    terminal = job_event(held.job, EventType.COMPLETED, {"state": "succeeded"})
    usage_row = UsageRecord(
        job_id=held.job.id, owner="alice", kind="generate_script", state="succeeded",
        model=None, tokens_in=0, tokens_out=0, duration_ms=0, created_at=utcnow(),
        period=utcnow().strftime("%Y-%m"),
    )  # fmt: skip
    end = running.Finish(
        job_id=held.job.id,
        from_state=JobState.RUNNING,
        attempt=held.attempt,
        owner=None,
        state=JobState.SUCCEEDED,
        now=utcnow(),
        result={},
        error=None,
        usage=usage_row,
        events=[terminal],
    )
    assert running.finish(db, end) is not None
    with db.transaction() as tx:
        rows = tx.all(text("SELECT id, subject, envelope FROM event_outbox"))
    assert [(r.id, r.subject, r.envelope["type"]) for r in rows] == [
        (terminal.id, terminal.subject, "completed")
    ]


def test_heartbeats_of_every_held_job_are_one_update_that_spares_lost_attempts(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """Jobs still held by their attempt are refreshed; an attempt that lost its job is not."""
    first, second = claimed(db, dispatcher, sink), claimed(db, dispatcher, sink)
    with db.transaction() as tx:
        tx.run(text("UPDATE jobs SET heartbeat_at = now() - interval '1 hour'"))
    running.touch_heartbeats(db, [(first.job.id, first.attempt), (second.job.id, 99)])
    with db.transaction() as tx:
        fresh = [
            r[0]
            for r in tx.all(
                text("SELECT id FROM jobs WHERE heartbeat_at > now() - interval '1 minute'")
            )
        ]
        assert list(fresh) == [first.job.id]
