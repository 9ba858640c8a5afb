"""A build's message goes to its target's queue on every path: at submission, from the relay
after the broker lost it, as the blind re-send of a long-waiting build, and after the reaper
gives a dead worker's build back."""

from __future__ import annotations

from datetime import timedelta

import redis
from sqlalchemy import select, update

from spark.broker.dispatch import CeleryDispatcher
from spark.config import Settings
from spark.db import running
from spark.db.executor import Database
from spark.db.models import JobRow, OutboxRow
from spark.db.types import utcnow
from spark.domain.jobs import JobKind
from spark.events.sink import EventSink
from spark.jobs import maintenance
from spark.jobs.submit import NewJob, Submitted, submit
from tests.integration.conftest import queued_messages


def submit_build(db: Database, dispatcher: CeleryDispatcher, target: str) -> Submitted:
    """A unity_build for target, submitted as the API does."""
    new = NewJob(owner="alice", kind=JobKind.UNITY_BUILD, params={"target": target})
    return submit(db, dispatcher, new)


def plain_builds(settings: Settings) -> int:
    """Messages waiting in the plain `builds` queue (not a target's)."""
    client = redis.Redis.from_url(settings.require("broker_url"), decode_responses=True)
    names = [str(k) for k in client.keys("builds*")]
    return sum(int(client.llen(k)) for k in names if k == "builds" or k.startswith("builds:"))


def outbox_queues(db: Database) -> list[str | None]:
    with db.transaction() as tx:
        return [row.queue for row in tx.all(select(OutboxRow))]


def test_a_build_is_sent_to_its_targets_queue_and_its_outbox_row_names_it(
    db: Database, dispatcher: CeleryDispatcher, settings: Settings
) -> None:
    submit_build(db, dispatcher, "iOS")
    submit_build(db, dispatcher, "Android")
    assert queued_messages(settings, "builds.iOS") == 1
    assert queued_messages(settings, "builds.Android") == 1
    assert plain_builds(settings) == 0
    assert sorted(q or "" for q in outbox_queues(db)) == ["builds.Android", "builds.iOS"]


def test_the_relay_sends_a_lost_build_message_to_its_targets_queue_again(
    db: Database, dispatcher: CeleryDispatcher, settings: Settings
) -> None:
    assert dispatcher.broker_emptied()  # the first question of a broker sets its marker
    submit_build(db, dispatcher, "iOS")
    redis.Redis.from_url(settings.require("broker_url")).flushdb()
    assert maintenance.relay(db, dispatcher, min_age_s=0) == 1
    assert queued_messages(settings, "builds.iOS") == 1
    assert plain_builds(settings) == 0


def test_a_build_waiting_past_its_resend_window_gets_one_more_message_in_its_queue(
    db: Database, dispatcher: CeleryDispatcher, settings: Settings
) -> None:
    """No builder for iOS for a day: one blind re-send into builds.iOS, then no more."""
    dispatcher.broker_emptied()
    submit_build(db, dispatcher, "iOS")
    then = utcnow() - timedelta(hours=7)
    with db.transaction() as tx:
        tx.run(update(OutboxRow).values(created_at=then, sent_at=then))
    assert maintenance.relay(db, dispatcher, min_age_s=0) == 1
    with db.transaction() as tx:
        tx.run(update(OutboxRow).values(sent_at=utcnow() - timedelta(hours=24)))
    assert maintenance.relay(db, dispatcher, min_age_s=0) == 0
    assert queued_messages(settings, "builds.iOS") == 2
    assert plain_builds(settings) == 0


def test_a_dead_workers_build_given_back_by_the_reaper_goes_to_its_targets_queue(
    db: Database, dispatcher: CeleryDispatcher, settings: Settings, sink: EventSink
) -> None:
    done = submit_build(db, dispatcher, "WebGL")
    redis.Redis.from_url(settings.require("broker_url")).flushdb()
    dispatcher.broker_emptied()
    long_ago = utcnow() - timedelta(minutes=5)
    with db.transaction() as tx:
        assert running.claim(tx, done.job.id, "gone:1", long_ago) is not None
        tx.run(update(JobRow).where(JobRow.id == done.job.id).values(heartbeat_at=long_ago))
    assert maintenance.reap(db, sink, maintenance.ReapPolicy(lease_s=30)) == 1
    assert outbox_queues(db) == ["builds.WebGL"]
    assert maintenance.relay(db, dispatcher, min_age_s=0) == 1
    assert queued_messages(settings, "builds.WebGL") == 1
    assert plain_builds(settings) == 0
