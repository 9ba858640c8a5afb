"""Submitting jobs: one transaction for job + outbox, the message after commit, idempotency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select, update

from spark.broker.dispatch import CeleryDispatcher
from spark.config import Settings
from spark.db import jobs as job_queries
from spark.db.executor import Database
from spark.db.models import JobRow, OutboxRow
from spark.db.types import utcnow
from spark.domain.jobs import JobKind, JobState
from spark.errors import IdempotencyConflict
from spark.jobs import maintenance
from spark.jobs.submit import NewJob, Submitted, request_hash, submit
from tests.integration.conftest import queued_messages

PARAMS = {"prompt": "a coin that spins and can be collected", "class_name": "Coin"}


def new_job(key: str | None = None, params: dict[str, str] = PARAMS, **kw: object) -> NewJob:
    body = {"kind": "generate_script", "params": params}
    return NewJob(
        owner="alice",
        kind=JobKind.GENERATE_SCRIPT,
        params=params,
        idempotency_key=key,
        request_hash=request_hash(body),
        **kw,
    )  # type: ignore[arg-type]


def outbox(db: Database) -> list[OutboxRow]:
    with db.transaction() as tx:
        return list(tx.all(select(OutboxRow)))


def test_submit_commits_job_and_outbox_then_sends_the_message(
    db: Database, dispatcher: CeleryDispatcher, settings: Settings
) -> None:
    """A submitted job is queued, its message is on the broker, and its outbox row is marked sent."""
    done = submit(db, dispatcher, new_job())
    assert done.created and done.job.state is JobState.QUEUED
    assert queued_messages(settings) == 1
    [row] = outbox(db)
    assert row.job_id == done.job.id and row.sent_at is not None


def test_a_failed_send_leaves_the_job_accepted_for_the_relay(
    db: Database,
    dead_dispatcher: CeleryDispatcher,
    dispatcher: CeleryDispatcher,
    settings: Settings,
) -> None:
    """When the broker is down after commit, the job stays queued and the relay sends it later."""
    done = submit(db, dead_dispatcher, new_job())
    [row] = outbox(db)
    assert row.sent_at is None and queued_messages(settings) == 0
    assert maintenance.relay(db, dispatcher, min_age_s=0) == 1
    assert queued_messages(settings) == 1
    [row] = outbox(db)
    assert row.sent_at is not None and row.sends == 1
    with db.transaction() as tx:
        job = job_queries.get_job(tx, done.job.id)
    assert job is not None and job.state is JobState.QUEUED


def test_relay_leaves_fresh_rows_to_the_submitter(
    db: Database,
    dead_dispatcher: CeleryDispatcher,
    dispatcher: CeleryDispatcher,
) -> None:
    """Rows younger than the minimum age are not the relay's yet (their send may be in flight)."""
    submit(db, dead_dispatcher, new_job())
    assert maintenance.relay(db, dispatcher, min_age_s=60) == 0


def test_a_rolled_back_submission_dispatches_nothing(
    db: Database, dispatcher: CeleryDispatcher, settings: Settings
) -> None:
    """If the transaction fails, no row exists and no message reaches the broker."""
    with pytest.raises(Exception, match="value too long"):
        submit(db, dispatcher, new_job(session_id="s" * 100))
    with db.transaction() as tx:
        assert list(tx.all(select(JobRow))) == []
    assert outbox(db) == [] and queued_messages(settings) == 0


def test_same_idempotency_key_and_body_returns_the_same_job(
    db: Database, dispatcher: CeleryDispatcher, settings: Settings
) -> None:
    """A retried request with the same key and body gets the original job, and sends nothing more."""
    first = submit(db, dispatcher, new_job("order-1"))
    again = submit(db, dispatcher, new_job("order-1"))
    assert again.job.id == first.job.id and not again.created
    assert queued_messages(settings) == 1


def test_same_idempotency_key_with_another_body_conflicts(
    db: Database, dispatcher: CeleryDispatcher
) -> None:
    """Reusing a key for a different request is refused."""
    submit(db, dispatcher, new_job("order-2"))
    other = {"prompt": "a door that opens when the player is near", "class_name": "Door"}
    with pytest.raises(IdempotencyConflict):
        submit(db, dispatcher, new_job("order-2", params=other))


def test_concurrent_requests_with_one_key_create_one_job(
    db: Database, dispatcher: CeleryDispatcher
) -> None:
    """Racing submissions under one key end with a single job that all of them see."""
    results: list[Submitted] = []
    barrier = threading.Barrier(6)

    def go() -> None:
        barrier.wait()
        results.append(submit(db, dispatcher, new_job("race")))

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.job.id for r in results}) == 1
    assert sum(r.created for r in results) == 1


def test_keys_are_scoped_to_their_owner(db: Database, dispatcher: CeleryDispatcher) -> None:
    """Two users may use the same Idempotency-Key without meeting each other's jobs."""
    mine = submit(db, dispatcher, new_job("shared"))
    body = {"kind": "generate_script", "params": PARAMS}
    theirs = submit(
        db,
        dispatcher,
        NewJob(
            owner="bob",
            kind=JobKind.GENERATE_SCRIPT,
            params=PARAMS,
            idempotency_key="shared",
            request_hash=request_hash(body),
        ),
    )
    assert theirs.created and theirs.job.id != mine.job.id


def test_a_broker_that_lost_its_messages_gets_each_queued_job_sent_once_more(
    db: Database, dispatcher: CeleryDispatcher, settings: Settings
) -> None:
    """A Redis that restarts with nothing on disk loses the marker it kept: the next relay
    pass sends every still-queued job again, once, without waiting for the resend window."""
    assert dispatcher.broker_emptied()  # the first question of a broker sets its marker
    assert not dispatcher.broker_emptied()
    for _ in range(5):
        submit(db, dispatcher, new_job())
    assert queued_messages(settings) == 5
    redis.Redis.from_url(settings.require("broker_url")).flushdb()
    assert queued_messages(settings) == 0
    assert maintenance.relay(db, dispatcher, min_age_s=0) == 5
    assert maintenance.relay(db, dispatcher, min_age_s=0) == 0
    assert queued_messages(settings) == 5


def age_outbox(db: Database, hours: float) -> None:
    """Make every outbox row look sent and created hours ago."""
    then = utcnow() - timedelta(hours=hours)
    with db.transaction() as tx:
        tx.run(update(OutboxRow).values(created_at=then, sent_at=then))


def test_a_backlog_that_outlasts_the_resend_window_costs_one_extra_message_per_job(
    db: Database, dispatcher: CeleryDispatcher, settings: Settings
) -> None:
    """2,000 jobs still queued hours after their send (every worker busy): the blind re-send
    goes once per job, and no later pass or rescue sends any of them again."""
    dispatcher.broker_emptied()  # a broker known since before the backlog
    for _ in range(2_000):
        submit(db, dispatcher, new_job())
    assert queued_messages(settings) == 2_000
    age_outbox(db, hours=1)
    while maintenance.relay(db, dispatcher, min_age_s=0):
        pass
    assert queued_messages(settings) == 4_000
    age_outbox(db, hours=24)
    assert maintenance.relay(db, dispatcher, min_age_s=0) == 0
    assert maintenance.rescue(db, dispatcher, older_than_s=0) == 0
    assert queued_messages(settings) == 4_000


def test_the_claim_returns_the_request_id_that_submitted_the_job(
    db: Database, dispatcher: CeleryDispatcher
) -> None:
    """The submitting request's X-Request-ID is stored with the job and handed to its worker."""
    from spark.db import running

    done = submit(db, dispatcher, new_job("with-request-id", request_id="r-123"))
    claimed = running.claim(db, done.job.id, "test-host:1", utcnow())
    assert claimed is not None and claimed.request_id == "r-123"
