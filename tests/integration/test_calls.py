"""Call records on Postgres: each call priced by the table as it is recorded, a month's
totals the same whether read from raw rows or from the hourly rollup after retention, and a
generator's every call (a repair, a failure) and a planning model's every answer on record
with its status, model and tokens."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from spark.config import ModelPrice
from spark.db import calls as queries
from spark.db import retention as retention_queries
from spark.db import rollups
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.jobs import Job, JobKind, JobState
from spark.errors import JobFailure
from spark.jobs import calls
from spark.jobs.retention import roll_up_complete_hours
from spark.jobs.runner import JobContext
from spark.jobs.tools import Tools
from spark.llm.base import (
    ChatTurn,
    Generation,
    GenerationProgress,
    ScriptRequest,
    TokenUsage,
    ToolCall,
)
from spark.llm.prices import cost_of

PRICES = {
    "fake-coder": ModelPrice(per_million_in=2.5, per_million_out=10.0),
    "fake-planner": ModelPrice(per_million_in=0.15, per_million_out=0.6),
}


def a_job(owner: str = "alice", session_id: str = "s-1") -> Job:
    now = utcnow()
    return Job(
        id=uuid.uuid4(),
        owner=owner,
        kind=JobKind.GENERATE_SCRIPT,
        state=JobState.RUNNING,
        params={},
        created_at=now,
        session_id=session_id,
    )


def test_a_call_is_priced_by_the_table_and_counted_in_its_users_month(db: Database) -> None:
    """Two LLM calls and a tool call: each row carries its cost from SPARK_PRICES (0 for a
    tool and for a model the table does not price), and the month sums them for alice only."""
    job = a_job()
    made = [
        calls.of_job(job, "llm", "generate", "ok", 1.5, "fake-coder", (1200, 340)),
        calls.of_job(job, "llm", "assist", "ok", 0.7, "fake-planner", (5000, 80)),
        calls.of_job(job, "tool", "render_preview", "ok", 0.2),
        calls.of_job(job, "llm", "generate", "ok", 0.1, "unpriced-model", (10, 10)),
    ]
    costs = [calls.record(db, call, PRICES) for call in made]
    calls.record(db, replace(made[0], owner="mallory", job_id=None), PRICES)
    expected = [cost_of(PRICES, c.model, c.tokens_in, c.tokens_out) for c in made]
    assert costs == expected and costs[2] == 0 and costs[3] == 0
    stored = queries.calls_of_job(db, job.id)
    assert [(c.name, c.kind, c.model, c.cost) for c in stored] == [
        (c.name, c.kind, c.model, cost) for c, cost in zip(made, expected, strict=True)
    ]
    assert {c.session_id for c in stored} == {"s-1"} and {c.owner for c in stored} == {"alice"}
    now = utcnow()
    totals = queries.totals_of(db, "alice", now - timedelta(hours=1), now + timedelta(hours=1))
    assert (totals.calls, totals.tokens_in, totals.tokens_out) == (4, 6210, 430)
    assert totals.cost == pytest.approx(sum(expected))
    session = queries.session_totals(db, "alice", "s-1")
    assert (session.calls, session.tokens_in, session.cost) == (
        4,
        6210,
        pytest.approx(sum(expected)),
    )
    assert queries.session_totals(db, "mallory", "s-1").cost == costs[0]
    nobody = queries.totals_of(db, "nobody", now - timedelta(hours=1), now)
    assert (nobody.calls, nobody.cost) == (0, 0.0)


def stored_at(ts: datetime, owner: str, tokens: tuple[int, int], cost: float) -> queries.StoredCall:
    return queries.StoredCall(
        uuid.uuid4(), ts, owner, None, None, "llm", "generate", "fake-coder", "ok", 0.5,
        tokens[0], tokens[1], cost,
    )  # fmt: skip


def test_a_call_that_names_itself_is_stored_and_counted_once(db: Database) -> None:
    """A tool call's end reported twice (two continuers deciding one step) is one record,
    and moves the call metrics once."""
    job = a_job()
    key = uuid.uuid4()
    call = replace(calls.of_job(job, "tool", "render_preview", "ok", 0.4), key=key)
    before = _duration_count("render_preview", "ok")
    calls.record(db, call, PRICES)
    calls.record(db, call, PRICES)
    assert [c.id for c in queries.calls_of_job(db, job.id)] == [key]
    assert _duration_count("render_preview", "ok") == before + 1


def _duration_count(name: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "spark_function_call_duration_seconds_count", {"name": name, "status": status}
    )
    return value or 0.0


def test_month_totals_are_the_same_from_raw_rows_and_from_the_rollup_after_pruning(
    db: Database,
) -> None:
    """Calls over several hours, read by user before any rollup, then after the hours are
    rolled up and the raw rows of rolled-up hours pruned: the same calls, tokens and cost,
    most tokens first."""
    now = utcnow()
    for hours_ago, owner, tokens, cost in [
        (30, "alice", (100, 10), 0.25),
        (5, "alice", (300, 30), 0.5),
        (5, "bob", (1000, 100), 1.0),
        (4, "bob", (7, 3), 0.125),
        (0, "alice", (50, 5), 0.0625),
    ]:
        queries.insert_call(db, stored_at(now - timedelta(hours=hours_ago), owner, tokens, cost))
    start, end = now - timedelta(days=2), now + timedelta(hours=1)

    def by_user() -> list[tuple[str, int, int, int, float]]:
        rows = queries.totals_by_owner(db, start, end)
        return [(t.owner, t.calls, t.tokens_in, t.tokens_out, t.cost) for t in rows]

    raw = by_user()
    assert raw == [("bob", 2, 1007, 103, 1.125), ("alice", 3, 450, 45, 0.8125)]
    assert roll_up_complete_hours(db, now) > 0
    mark = rollups.mark(db)
    assert mark is not None
    with db.transaction() as tx:
        pruned = retention_queries.delete_calls(tx, mark - rollups.REROLL, 100)
    assert pruned == 4  # all but the current hour's
    assert by_user() == raw


class Scripted:
    """A generator answering from a list: a Generation, or an exception to raise."""

    def __init__(self, answers: list[Generation | Exception]) -> None:
        self.answers = answers
        self.requests: list[ScriptRequest] = []

    def generate(self, request: ScriptRequest, on_progress: GenerationProgress) -> Generation:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def context(db: Database, job: Job) -> JobContext:
    tools = Tools(db, None, None, None, None, None, prices=PRICES)  # type: ignore[arg-type]
    report: Callable[[int, str], None] = lambda percent, message: None  # noqa: E731
    return JobContext(job, 1, report, tools)


def test_a_generators_calls_are_recorded_each_with_its_name_status_model_and_tokens(
    db: Database,
) -> None:
    """A generation, its repair round, and a call that fails: three rows, `generate` and
    `repair` with the model's tokens and cost, and the failure as an error with none."""
    job = a_job("carol", "default")
    code = "public class A {}"
    inner = Scripted(
        [
            Generation(code, "openai-compatible", "fake-coder", TokenUsage(900, 120)),
            Generation(code, "openai-compatible", "fake-coder", TokenUsage(1400, 130)),
            JobFailure("no_code", "the model answered without a C# file"),
        ]
    )
    recording = calls.RecordingGenerator(inner, context(db, job))
    request = ScriptRequest(prompt="a door", class_name="A")
    recording.generate(request, lambda fraction, message: None)
    recording.generate(replace(request, repair_of=code), lambda fraction, message: None)
    with pytest.raises(JobFailure):
        recording.generate(request, lambda fraction, message: None)
    rows = queries.calls_of_job(db, job.id)
    assert [(r.name, r.status, r.model, r.tokens_in, r.tokens_out) for r in rows] == [
        ("generate", "ok", "fake-coder", 900, 120),
        ("repair", "ok", "fake-coder", 1400, 130),
        ("generate", "error", None, 0, 0),
    ]
    assert [r.cost for r in rows] == [
        cost_of(PRICES, "fake-coder", 900, 120), cost_of(PRICES, "fake-coder", 1400, 130), 0.0
    ]  # fmt: skip
    assert all(r.duration_s >= 0 and r.owner == "carol" for r in rows)


class ScriptedChat:
    """A planning model answering from a list: a ChatTurn, or an exception to raise."""

    def __init__(self, answers: list[ChatTurn | Exception]) -> None:
        self.answers = answers

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ChatTurn:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_planning_models_answers_are_recorded_as_assist_calls(db: Database) -> None:
    """Two answers and a failure: three `assist` rows of the job, in its session, the answers
    with the model's tokens and cost, the failure an error that is still raised."""
    job = a_job("dave", "s-9")
    call = ToolCall("call_1", "generate_script", "{}")
    inner = ScriptedChat(
        [
            ChatTurn(None, (call,), "openai-compatible", "fake-planner", TokenUsage(3000, 40)),
            ChatTurn("done", (), "openai-compatible", "fake-planner", TokenUsage(3300, 25)),
            RuntimeError("connection reset"),
        ]
    )
    chat = calls.RecordingChat(inner, db, PRICES, job)
    assert chat.chat([], []).calls == (call,)
    assert chat.chat([], []).text == "done"
    with pytest.raises(RuntimeError):
        chat.chat([], [])
    rows = queries.calls_of_job(db, job.id)
    assert [(r.name, r.status, r.model, r.tokens_in, r.tokens_out) for r in rows] == [
        ("assist", "ok", "fake-planner", 3000, 40),
        ("assist", "ok", "fake-planner", 3300, 25),
        ("assist", "error", None, 0, 0),
    ]
    assert [r.cost for r in rows[:2]] == [
        cost_of(PRICES, "fake-planner", 3000, 40), cost_of(PRICES, "fake-planner", 3300, 25)
    ]  # fmt: skip
    assert {(r.owner, r.session_id, r.kind) for r in rows} == {("dave", "s-9", "llm")}
