"""Usage charging on Postgres: each finished job is recorded once and added to its month once."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import insert
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db import usage as usage_queries
from spark.db.executor import Database
from spark.db.models import CallsHourRow, TokensHourRow
from spark.db.types import utcnow
from spark.domain.jobs import Job, JobKind, JobState
from spark.events.sink import EventSink
from spark.jobs import lifecycle, usage
from spark.jobs.ending import Ending, Held, end_job
from spark.jobs.submit import NewJob, store
from spark.web.app import create_app
from tests.support.jobs import auth


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


def charged(db: Database, sink: EventSink, owner: str, prompt: int, completion: int) -> Job:
    """A job of owner's ended with these tokens, as its worker ends it."""
    new = NewJob(owner=owner, kind=JobKind.GENERATE_SCRIPT, params={}, request_hash="x")
    job = store(db, new).job
    held = lifecycle.claim(db, sink, job.id, "w:1", lease_s=30, max_attempts=3)
    assert held is not None
    tokens = {"prompt": prompt, "completion": completion}
    ending = Ending(JobState.SUCCEEDED, {"model": "fake-coder", "tokens": tokens})
    ended = end_job(db, sink, held.job, Held(held.attempt), ending)
    assert ended is not None
    return ended


def test_a_job_is_charged_once_and_its_month_adds_up(db: Database, sink: EventSink) -> None:
    """Ending the same job again changes nothing; two jobs add their tokens and count."""
    first, _ = charged(db, sink, "payer", 300, 100), charged(db, sink, "payer", 20, 5)
    again = Ending(JobState.SUCCEEDED, {"tokens": {"prompt": 1000}})
    assert end_job(db, sink, first, Held(first.attempts), again) is None
    period = first.finished_at.strftime("%Y-%m") if first.finished_at else ""
    with db.transaction() as tx:
        assert usage_queries.month_usage(tx, "payer", period) == (425, 2)
        assert usage_queries.month_usage(tx, "someone-else", period) == (0, 0)


def test_a_record_keeps_model_tokens_and_duration(db: Database) -> None:
    """The usage record is what billing reads: model, tokens in and out, time taken."""
    job = replace(finished("biller", 7, 3), result={"model": "m", "tokens": {"prompt": 7}})
    record = usage.usage_of(job)
    assert (record.model, record.tokens_in, record.tokens_out) == ("m", 7, 0)
    assert record.duration_ms == 1000 and record.kind == "generate_script"


def test_usage_history_lists_only_the_callers_rolled_up_hours(
    settings: Settings, db: Database, api_key: str
) -> None:
    """?history_days=N adds the caller's hourly tokens and cost by model from the rollups,
    none of another user's and none older than N days; without it the response is unchanged."""
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    rows = [
        {"hour": hour, "owner": "alice", "model": "m1", "jobs": 2, "tokens_in": 30, "tokens_out": 9},
        {"hour": hour, "owner": "alice", "model": "", "jobs": 1, "tokens_in": 5, "tokens_out": 1},
        {"hour": hour, "owner": "mallory", "model": "m1", "jobs": 4, "tokens_in": 7, "tokens_out": 7},
        {"hour": hour - timedelta(days=5), "owner": "alice", "model": "m1", "jobs": 1,
         "tokens_in": 1, "tokens_out": 1},
    ]  # fmt: skip
    costs = [
        {"hour": hour, "owner": "alice", "model": "m1", "calls": 3, "tokens_in": 30,
         "tokens_out": 9, "cost": 0.5},
        {"hour": hour - timedelta(hours=1), "owner": "alice", "model": "m2", "calls": 1,
         "tokens_in": 4, "tokens_out": 2, "cost": 0.25},
        {"hour": hour, "owner": "mallory", "model": "m1", "calls": 1, "tokens_in": 7,
         "tokens_out": 7, "cost": 2.0},
    ]  # fmt: skip
    with db.transaction() as tx:
        tx.run(insert(TokensHourRow).values(rows))
        tx.run(insert(CallsHourRow).values(costs))
    with TestClient(create_app(settings)) as client:
        plain = client.get("/v1/usage", headers=auth(api_key)).json()
        resp = client.get("/v1/usage?history_days=2", headers=auth(api_key))
        bad = client.get("/v1/usage?history_days=-1", headers=auth(api_key))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert "history" not in plain
    assert {k: v for k, v in body.items() if k != "history"}.keys() == plain.keys()
    # A job's tokens count in the hour it ended; its calls' cost in the hours they were made.
    earlier = (hour - timedelta(hours=1)).isoformat()
    assert body["history"] == [
        {"hour": earlier, "model": "m2", "jobs": 0, "tokens_in": 0, "tokens_out": 0, "cost": 0.25},
        {"hour": hour.isoformat(), "model": None, "jobs": 1, "tokens_in": 5, "tokens_out": 1,
         "cost": 0.0},
        {"hour": hour.isoformat(), "model": "m1", "jobs": 2, "tokens_in": 30, "tokens_out": 9,
         "cost": 0.5},
    ]  # fmt: skip
    assert bad.status_code == 422
