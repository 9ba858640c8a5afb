"""The consumer stores every event exactly once: duplicates, a kill mid-batch, invalid messages."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from spark.cli import app as cli_app
from spark.config import Settings
from spark.db.executor import Database
from spark.db.models import DeadLetterRow, EventRow
from spark.domain.events import Event, EventFamily, EventType
from spark.domain.jobs import JobKind
from spark.events.stream import ensure_stream
from tests.integration.test_events_nats import wait_until
from tests.support.nats import NatsServer
from tests.support.workers import ConsumerProcess


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path)
    server.start()
    yield server
    server.stop()


def stored(db: Database, job_id: uuid.UUID) -> tuple[int, int]:
    """(rows, distinct ids) stored for a job."""
    with db.transaction() as tx:
        rows = tx.scalar(select(func.count()).where(EventRow.job_id == job_id))
        distinct = tx.scalar(
            select(func.count(func.distinct(EventRow.id))).where(EventRow.job_id == job_id)
        )
    return int(rows or 0), int(distinct or 0)


async def publish_raw(url: str, messages: list[tuple[str, bytes, str]]) -> None:
    """Publish (subject, payload, msg id) straight to JetStream, awaiting each ack."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js)
    for subject, payload, msg_id in messages:
        await js.publish(subject, payload, headers={"Nats-Msg-Id": msg_id})
    await nc.close()


def events_for(job_id: uuid.UUID, n: int) -> list[Event]:
    return [
        Event(
            EventType.PROGRESS,
            job_id,
            JobKind.GENERATE_SCRIPT,
            EventFamily.RUNTIME,
            "consumer-test",
            {"percent": i},
        )
        for i in range(n)
    ]


def test_an_event_published_twice_is_stored_once(
    nats_server: NatsServer, db: Database, settings: Settings, tmp_path: Path
) -> None:
    """The same event arriving twice (after the dedupe window, say) yields one row."""
    job_id = uuid.uuid4()
    events = events_for(job_id, 10)
    raw = [(e.subject, e.encode(), f"{e.id}-{copy}") for copy in (1, 2) for e in events]
    asyncio.run(publish_raw(nats_server.url, raw))
    consumer = ConsumerProcess(
        settings, tmp_path, nats_server.url, SPARK_CONSUMER_DURABLE=f"t{uuid.uuid4().hex[:8]}"
    )
    consumer.start()
    try:
        wait_until(lambda: stored(db, job_id)[0] == 10)
    finally:
        consumer.stop()
    assert stored(db, job_id) == (10, 10)


def test_a_consumer_killed_mid_batch_stores_every_event_once_after_restart(
    nats_server: NatsServer, db: Database, settings: Settings, tmp_path: Path
) -> None:
    """SIGKILL while storing: unacked messages come back after ack_wait, and none doubles."""
    job_id = uuid.uuid4()
    events = events_for(job_id, 3000)
    asyncio.run(publish_raw(nats_server.url, [(e.subject, e.encode(), str(e.id)) for e in events]))
    env = {
        "SPARK_CONSUMER_DURABLE": "killed",
        "SPARK_CONSUMER_BATCH": "100",
        "SPARK_CONSUMER_ACK_WAIT_S": "2",
    }
    first = ConsumerProcess(settings, tmp_path, nats_server.url, **env)
    first.start()
    wait_until(lambda: stored(db, job_id)[0] > 0, timeout=20)
    first.kill()
    assert stored(db, job_id)[0] < 3000, "killed too late to be mid-stream"
    second = ConsumerProcess(settings, tmp_path, nats_server.url, **env)
    second.start()
    try:
        wait_until(lambda: stored(db, job_id)[0] == 3000, timeout=40)
    finally:
        second.stop()
    assert stored(db, job_id) == (3000, 3000)


def test_an_invalid_message_is_dead_lettered_not_stored(
    nats_server: NatsServer, db: Database, settings: Settings, tmp_path: Path
) -> None:
    """Garbage on an event subject goes to the dead-letter table; valid neighbours are stored."""
    job_id = uuid.uuid4()
    [good] = events_for(job_id, 1)
    subject = "spark.runtime.unity.progress.consumer-test"
    asyncio.run(
        publish_raw(
            nats_server.url,
            [
                (subject, b"{not json", "bad-1"),
                (good.subject, good.encode(), str(good.id)),
            ],
        )
    )
    consumer = ConsumerProcess(
        settings, tmp_path, nats_server.url, SPARK_CONSUMER_DURABLE=f"t{uuid.uuid4().hex[:8]}"
    )
    consumer.start()
    try:
        wait_until(lambda: stored(db, job_id)[0] == 1)
        with db.transaction() as tx:
            wait_until(lambda: bool(tx.scalar(select(func.count()).select_from(DeadLetterRow))))
    finally:
        consumer.stop()
    with db.transaction() as tx:
        letter = tx.one(select(DeadLetterRow))
    assert letter.subject == subject and letter.payload == "{not json"


def test_the_consumer_check_passes_while_it_turns_and_fails_once_it_stopped(
    nats_server: NatsServer, settings: Settings, tmp_path: Path
) -> None:
    """`spark consumer --check` (compose's healthcheck) follows the loop's heartbeat file."""
    var = tmp_path / "var"
    env = {"SPARK_VAR_DIR": str(var)}
    check = ["consumer", "--check", "--max-age", "5"]
    assert CliRunner().invoke(cli_app, check, env=env).exit_code == 1
    mine = settings.model_copy(update={"var_dir": var})
    consumer = ConsumerProcess(mine, tmp_path, nats_server.url, SPARK_CONSUMER_DURABLE="alive")
    consumer.start()
    try:
        wait_until(lambda: CliRunner().invoke(cli_app, check, env=env).exit_code == 0)
    finally:
        consumer.stop()
    beat = var / "consumer.alive"
    os.utime(beat, (time.time() - 60, time.time() - 60))
    assert CliRunner().invoke(cli_app, check, env=env).exit_code == 1
