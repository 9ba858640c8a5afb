"""The API's thread-free paths on a real Postgres: coalesced polls keep every user to their
own jobs, and a plain submission checks the token quota in the statement that inserts it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from spark.broker.dispatch import CeleryDispatcher
from spark.broker.outbox import SentMarks
from spark.broker.sending import Sender
from spark.config import Settings, tier_limits
from spark.db import jobs as job_queries
from spark.db.aio import AsyncDatabase
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.jobs import Job, JobKind
from spark.errors import QuotaExceeded
from spark.jobs.submit import NewJob, Submitted, accept, request_hash, store
from spark.security.quotas import month_of
from tests.integration.conftest import queued_messages

PARAMS = {"prompt": "a coin that spins and can be collected", "class_name": "Coin"}


def new_job(owner: str, settings: Settings | None = None) -> NewJob:
    return NewJob(
        owner=owner,
        kind=JobKind.GENERATE_SCRIPT,
        params=PARAMS,
        request_hash=request_hash({"kind": "generate_script", "params": PARAMS}),
        limits=tier_limits(settings, "free") if settings else None,
    )


def test_polls_gathered_into_one_query_each_see_only_their_owners_jobs(db: Database) -> None:
    mine = [store(db, new_job("alice")).job for _ in range(20)]
    theirs = [store(db, new_job("bob")).job for _ in range(20)]

    async def poll_all() -> list[Job | None]:
        adb = AsyncDatabase(db)
        try:
            reads = [job_queries.read_owned_job(adb, j.id, "alice") for j in mine + theirs]
            reads += [job_queries.read_owned_job(adb, uuid.uuid4(), "alice")]
            return await asyncio.gather(*reads)
        finally:
            await adb.close()

    found = asyncio.run(poll_all())
    assert [getattr(j, "id", None) for j in found[:20]] == [j.id for j in mine]
    assert found[20:] == [None] * 21


@pytest.fixture
def sender(db: Database, dispatcher: CeleryDispatcher) -> Iterator[Sender]:
    """The API's sender, with its outbox marks; both threads stopped before the database is
    emptied and disposed (a mark written meanwhile would hold a connection past it)."""
    marks = SentMarks(db)
    sending = Sender(dispatcher, marks)
    yield sending
    sending.close()
    marks.close()


def _use_tokens(db: Database, owner: str, tokens: int) -> None:
    with db.transaction() as tx:
        tx.run(
            text("INSERT INTO usage_counters (owner, period, tokens, jobs) VALUES (:o, :p, :t, 1)"),
            {"o": owner, "p": month_of(utcnow()), "t": tokens},
        )


def _accept(db: Database, sender: Sender, new: NewJob) -> Submitted:
    async def once() -> Submitted:
        adb = AsyncDatabase(db)
        try:
            return await accept(adb, sender, new)
        finally:
            await adb.close()

    return asyncio.run(once())


def _jobs_of(db: Database, owner: str) -> int:
    return int(db.scalar(text("SELECT count(*) FROM jobs WHERE owner = :o"), {"o": owner}))


def test_a_plain_submission_under_the_token_quota_is_stored_and_sent(
    db: Database, settings: Settings, sender: Sender
) -> None:
    _use_tokens(db, "carol", 10)
    done = _accept(db, sender, new_job("carol", settings))
    assert done.created and _jobs_of(db, "carol") == 1
    assert queued_messages(settings) == 1


def test_a_plain_submission_over_the_token_quota_is_refused_by_its_own_insert(
    db: Database, settings: Settings, sender: Sender
) -> None:
    new = new_job("dave", settings)
    assert new.limits is not None
    _use_tokens(db, "dave", new.limits.tokens_per_month)
    with pytest.raises(QuotaExceeded) as refused:
        _accept(db, sender, new)
    assert (refused.value.details or {}).get("used") == new.limits.tokens_per_month
    assert _jobs_of(db, "dave") == 0
    assert queued_messages(settings) == 0


def test_submissions_inserted_together_are_each_held_to_their_own_owners_quota(
    db: Database, settings: Settings, sender: Sender
) -> None:
    over, under = new_job("erin", settings), new_job("frank", settings)
    assert over.limits is not None
    _use_tokens(db, "erin", over.limits.tokens_per_month)

    async def together() -> list[Submitted | BaseException]:
        adb = AsyncDatabase(db)
        try:
            calls = [accept(adb, sender, new) for new in (over, under, under, over, under)]
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            await adb.close()

    outcomes = asyncio.run(together())
    refused = [isinstance(o, QuotaExceeded) for o in outcomes]
    assert refused == [True, False, False, True, False]
    assert (_jobs_of(db, "erin"), _jobs_of(db, "frank")) == (0, 3)
    assert queued_messages(settings) == 3
