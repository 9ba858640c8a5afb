"""NATS away for 30 s while 200 jobs run: jobs succeed, and every event arrives once, later."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import nats
from sqlalchemy import func, select
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from spark.db.models import EventOutboxRow, EventRow, JobRow
from spark.embedded.stack import NATS
from spark.events.envelope import STREAM
from tests.support.jobs import auth
from tests.support.nats import purge_stream
from tests.support.services import SuiteStack
from tests.support.workers import BeatProcess, WorkerProcess

JOBS = 200
OUTAGE_S = 30.0
BODY = {
    "kind": "generate_script",
    "session_id": "outage",
    "params": {"prompt": "a crate that breaks into pieces", "class_name": "Crate"},
}


def scalar(db: Database, query: object) -> int:
    return int(db.scalar(query) or 0)


async def stream_messages(url: str) -> int:
    nc = await nats.connect(url)
    info = await nc.jetstream().stream_info(STREAM)
    await nc.close()
    return int(info.state.messages)


def test_jobs_succeed_through_a_nats_outage_and_every_event_arrives_once(
    settings: Settings,
    servers: SuiteStack,
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
) -> None:
    """Events wait in the outbox during the outage; the relay and the suite's consumer deliver
    each once."""
    url = settings.require("nats_url")
    server = servers.server(NATS)
    purge_stream(url)  # the stream then holds this test's events only
    procs = [WorkerProcess(settings, tmp_path), BeatProcess(settings, tmp_path)]
    for proc in procs:
        proc.start()
    try:
        server.stop()
        down_at = time.monotonic()
        ids = [
            client.post("/v1/jobs", json=BODY, headers=auth(api_key)).json()["id"]
            for _ in range(JOBS)
        ]
        done = JobRow.state == "succeeded"
        while scalar(db, select(func.count()).where(done)) < JOBS:
            assert time.monotonic() - down_at < OUTAGE_S, "jobs stalled while NATS was down"
            time.sleep(0.2)
        # A job's terminal event follows its finish by a moment (the task's postrun signal).
        while scalar(db, select(func.count()).select_from(EventOutboxRow)) < 2 * JOBS:
            assert time.monotonic() - down_at < OUTAGE_S, "events missing from the outbox"
            time.sleep(0.2)
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        server.start()
        job_ids = [uuid.UUID(i) for i in ids]
        mine = EventRow.job_id.in_(job_ids)
        deadline = time.monotonic() + 60
        while (
            scalar(db, select(func.count()).select_from(EventOutboxRow))
            or scalar(db, select(func.count()).where(mine)) < 2 * JOBS
        ):
            assert time.monotonic() < deadline, "events did not arrive after NATS came back"
            time.sleep(0.5)
        time.sleep(2.0)  # anything late or doubled would show up now
        rows = scalar(db, select(func.count()).where(mine))
        distinct = scalar(db, select(func.count(func.distinct(EventRow.id))).where(mine))
        started = scalar(db, select(func.count()).where(mine, EventRow.type == "started"))
        completed = scalar(db, select(func.count()).where(mine, EventRow.type == "completed"))
        in_stream = asyncio.run(stream_messages(url))
    finally:
        for proc in reversed(procs):
            proc.stop()
        server.start()
    assert rows == distinct == in_stream
    assert started == completed == JOBS
