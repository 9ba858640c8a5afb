"""Usage charging on Postgres: each finished job is recorded once and added to its month once."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from spark.db import usage as usage_queries
from spark.db.engine import Database
from spark.db.types import utcnow
from spark.domain.jobs import Job, JobKind, JobState
from spark.jobs import usage


def finished(owner: str, prompt: int, completion: int) -> Job:
    now = utcnow()
    return Job(
        id=uuid.uuid4(),
        owner=owner,
        kind=JobKind.GENERATE_SCRIPT,
        state=JobState.SUCCEEDED,
        params={},
        created_at=now - timedelta(seconds=2),
        result={"model": "fake-coder", "tokens": {"prompt": prompt, "completion": completion}},
        started_at=now - timedelta(seconds=1),
        finished_at=now,
    )


def test_a_job_is_charged_once_and_its_month_adds_up(db: Database) -> None:
    """Charging the same job twice changes nothing; two jobs add their tokens and count."""
    first, second = finished("payer", 300, 100), finished("payer", 20, 5)
    for job in (first, first, second):
        with db.session() as s:
            usage_queries.record_usage(s, usage.usage_of(job))
    period = first.finished_at.strftime("%Y-%m") if first.finished_at else ""
    with db.session() as s:
        assert usage_queries.month_usage(s, "payer", period) == (425, 2)
        assert usage_queries.month_usage(s, "someone-else", period) == (0, 0)


def test_a_record_keeps_model_tokens_and_duration(db: Database) -> None:
    """The usage record is what billing reads: model, tokens in and out, time taken."""
    job = replace(finished("biller", 7, 3), result={"model": "m", "tokens": {"prompt": 7}})
    record = usage.usage_of(job)
    assert (record.model, record.tokens_in, record.tokens_out) == ("m", 7, 0)
    assert record.duration_ms == 1000 and record.kind == "generate_script"
