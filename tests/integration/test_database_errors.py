"""Driver errors reach callers as SPARK's errors through every way to the database: a database
that is away is ServiceUnavailable (503), a refused duplicate is UniqueViolation."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest
from sqlalchemy import text

from spark.db import aio, direct, submissions
from spark.db.aio import AsyncDatabase
from spark.db.engine import Database
from spark.db.errors import UniqueViolation
from spark.db.types import utcnow
from spark.domain.jobs import Job, JobKind, JobState
from spark.errors import ServiceUnavailable
from spark.jobs.submit import NewJob, store

SELECT_ONE = text("SELECT 1")


def closed_port() -> int:
    """A local port nothing listens on (taken from the OS, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def away() -> Database:
    """A database whose server is away (nothing listens on its port)."""
    return Database(f"postgresql+psycopg://spark@127.0.0.1:{closed_port()}/spark")


def test_a_transaction_on_a_database_that_is_away_is_service_unavailable(away: Database) -> None:
    with pytest.raises(ServiceUnavailable), away.session() as s:
        s.execute(SELECT_ONE)


def test_a_read_on_a_database_that_is_away_is_service_unavailable(away: Database) -> None:
    with pytest.raises(ServiceUnavailable), away.read_session() as s:
        s.execute(SELECT_ONE)


def test_a_borrowed_connection_of_a_database_that_is_away_is_service_unavailable(
    away: Database,
) -> None:
    with pytest.raises(ServiceUnavailable), direct.connection(away):
        pass


def test_the_async_face_on_a_database_that_is_away_is_service_unavailable(
    away: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the pool waits this long for a connection it cannot make before giving up
    monkeypatch.setattr(aio, "CHECKOUT_TIMEOUT_S", 0.5)

    async def one() -> None:
        adb = AsyncDatabase(away)
        try:
            await adb.one(SELECT_ONE, {})
        finally:
            await adb.close()

    with pytest.raises(ServiceUnavailable):
        asyncio.run(one())


def test_a_second_job_under_one_idempotency_key_is_a_unique_violation(db: Database) -> None:
    job = store(db, NewJob("alice", JobKind.GENERATE_SCRIPT, {}, idempotency_key="k")).job
    again = Job(
        id=uuid.uuid4(),
        owner="alice",
        kind=JobKind.GENERATE_SCRIPT,
        state=JobState.QUEUED,
        params={},
        created_at=utcnow(),
    )
    with pytest.raises(UniqueViolation) as caught, db.session() as s:
        submissions.insert_jobs(s, [submissions.Submission(again, "", idempotency_key="k")])
    assert caught.value.constraint == "uq_jobs_owner_idempotency_key"
    assert job.id != again.id
