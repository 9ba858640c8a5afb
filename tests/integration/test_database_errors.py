"""Driver errors reach callers as SPARK's errors through both faces of the executor: a database
that is away is ServiceUnavailable (503), a refused duplicate is UniqueViolation."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from spark.db import aio, executor, submissions
from spark.db.aio import AsyncDatabase
from spark.db.errors import UniqueViolation
from spark.db.executor import Database
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
def away(monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A database whose server is away (nothing listens on its port); callers wait half a
    second for a connection the pools cannot make."""
    monkeypatch.setattr(executor, "CHECKOUT_TIMEOUT_S", 0.5)
    monkeypatch.setattr(aio, "CHECKOUT_TIMEOUT_S", 0.5)
    database = Database(f"postgresql+psycopg://spark@127.0.0.1:{closed_port()}/spark")
    yield database
    database.close()


def test_a_transaction_on_a_database_that_is_away_is_service_unavailable(away: Database) -> None:
    with pytest.raises(ServiceUnavailable), away.transaction() as tx:
        tx.one(SELECT_ONE)


def test_a_read_on_a_database_that_is_away_is_service_unavailable(away: Database) -> None:
    with pytest.raises(ServiceUnavailable), away.read() as tx:
        tx.one(SELECT_ONE)


def test_a_statement_on_its_own_on_a_database_that_is_away_is_service_unavailable(
    away: Database,
) -> None:
    with pytest.raises(ServiceUnavailable):
        away.scalar(SELECT_ONE)


def on_the_async_face(away: Database, call: Callable[[AsyncDatabase], Awaitable[Any]]) -> None:
    """call(the async face of away), run to its end."""

    async def run() -> None:
        adb = AsyncDatabase(away)
        try:
            await call(adb)
        finally:
            await adb.close()

    asyncio.run(run())


def test_the_async_face_on_a_database_that_is_away_is_service_unavailable(away: Database) -> None:
    with pytest.raises(ServiceUnavailable):
        on_the_async_face(away, lambda adb: adb.one(SELECT_ONE))


def test_an_async_transaction_on_a_database_that_is_away_is_service_unavailable(
    away: Database,
) -> None:
    async def in_transaction(adb: AsyncDatabase) -> None:
        async with adb.transaction() as tx:
            await tx.one(SELECT_ONE)

    with pytest.raises(ServiceUnavailable):
        on_the_async_face(away, in_transaction)


def test_a_second_job_under_one_idempotency_key_is_a_unique_violation(db: Database) -> None:
    store(db, NewJob("alice", JobKind.GENERATE_SCRIPT, {}, idempotency_key="k"))
    again = Job(
        id=uuid.uuid4(),
        owner="alice",
        kind=JobKind.GENERATE_SCRIPT,
        state=JobState.QUEUED,
        params={},
        created_at=utcnow(),
    )
    with pytest.raises(UniqueViolation) as caught:
        submissions.insert_jobs(db, [submissions.Submission(again, "", idempotency_key="k")])
    assert caught.value.constraint == "uq_jobs_owner_idempotency_key"


def test_the_async_face_translates_a_unique_violation_too(db: Database) -> None:
    job = store(db, NewJob("alice", JobKind.GENERATE_SCRIPT, {})).job
    duplicate = submissions.Submission(job, "")

    async def insert(adb: AsyncDatabase) -> None:
        await submissions.insert_job_now(adb, duplicate)

    with pytest.raises(UniqueViolation) as caught:
        on_the_async_face(db, insert)
    assert caught.value.constraint == "pk_jobs"
