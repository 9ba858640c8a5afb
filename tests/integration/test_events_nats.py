"""The NATS publisher, the outbox relay and the consumer against real JetStream and Postgres."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from spark.db.executor import Database
from spark.db.models import EventOutboxRow
from spark.domain.events import Event, EventFamily, EventType
from spark.domain.jobs import JobKind
from spark.events.envelope import decode_event
from spark.events.publisher import NatsPublisher
from spark.events.relay import relay_events
from spark.security.scrub import scrub
from tests.support.nats import NatsServer, Subscriber


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path)
    server.start()
    yield server
    server.stop()


def make_event(session: str, type_: EventType = EventType.PROGRESS, **data: object) -> Event:
    return Event(
        type_,
        uuid.uuid4(),
        JobKind.GENERATE_SCRIPT,
        EventFamily.RUNTIME,
        session,
        scrub(dict(data)),
    )


def count(db: Database, model: type, **where: object) -> int:
    with db.transaction() as tx:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(tx.scalar(query) or 0)


def wait_until(check: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_publisher_delivers_scrubbed_events_with_their_id_as_msg_id(
    nats_server: NatsServer, db: Database
) -> None:
    """A subscriber sees each event once, on its subject, with PII masked before it left."""
    session = f"s{uuid.uuid4().hex[:8]}"
    sub = Subscriber(nats_server.url, f"spark.*.unity.*.{session}")
    sub.start()
    publisher = NatsPublisher(nats_server.url, db)
    try:
        wait_until(lambda: publisher.connected)
        pii = make_event(
            session,
            message="mail ada@example.com, key spk_0123456789abcdef_"
            "abcdefghijklmnopqrstuvwxyz, jwt eyJhbGciOi.eyJzdWIiOjEy.c2lnbmF0dXJl",
            password="hunter2",
        )
        events = [pii, *(make_event(session, percent=i) for i in range(20))]
        for event in events:
            publisher.publish(event)
        assert publisher.flush(10)
        wait_until(lambda: len(sub.messages) == len(events))
    finally:
        publisher.close()
        sub.stop()
    received = [decode_event(data, subject) for subject, data in sub.messages]
    assert [e.id for e in received] == [e.id for e in events]
    text = sub.messages[0][1].decode()
    for secret in ("ada@example.com", "spk_0123456789abcdef", "eyJhbGciOi", "hunter2"):
        assert secret not in text
    assert "[email]" in text and "[api_key]" in text and "[jwt]" in text


def test_events_wait_in_the_outbox_while_nats_is_down_and_the_relay_sends_them_once(
    nats_server: NatsServer, db: Database
) -> None:
    """Publishing during an outage stores events in Postgres; the relay publishes each once."""
    session = f"s{uuid.uuid4().hex[:8]}"
    publisher = NatsPublisher(nats_server.url, db, ack_timeout_s=0.5)
    try:
        wait_until(lambda: publisher.connected)
        nats_server.stop()
        wait_until(lambda: not publisher.connected)
        events = [make_event(session, percent=i) for i in range(30)]
        for event in events:
            publisher.publish(event)
        assert publisher.flush(10)
        assert count(db, EventOutboxRow) == 30
        nats_server.start()
        sub = Subscriber(nats_server.url, f"spark.*.unity.*.{session}")
        sub.start()
        assert relay_events(db, nats_server.url, grace_s=0) == 30
        assert relay_events(db, nats_server.url, grace_s=0) == 0
        wait_until(lambda: len(sub.messages) == 30)
        sub.stop()
    finally:
        publisher.close()
    assert count(db, EventOutboxRow) == 0
    assert sorted(json.loads(d)["id"] for _, d in sub.messages) == sorted(str(e.id) for e in events)
