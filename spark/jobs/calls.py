"""Every LLM and tool call on record: one row per call (who, session, job, name, model,
status, duration, tokens, cost) and the metrics it moves, written as the call ends.

The one way to record a call is `record(db, call, prices)`; a handler records through
`record_for(ctx, …)`, which fills in the job's owner, session and id and the worker's price
table. A call is recorded in its own transaction at once, so a job that fails, is canceled
or is taken over later still leaves the calls its attempt made (they were made, and paid
for). `RecordingGenerator` wraps a script generator so each of its calls (`generate`, and
`repair` for a repair round) is recorded with its real duration, tokens, status and model;
`RecordingChat` does the same for a planning model's answers (`assist`).

    from spark.jobs import calls
    calls.record_for(ctx, kind="tool", name="render_preview", status="ok", duration_s=0.4)
    calls.record_for(
        ctx, kind="llm", name="assist", status="ok", duration_s=1.2,
        model="gpt-4o-mini", tokens_in=812, tokens_out=64,
    )
    # outside a handler's run (a continuation), with the job at hand:
    calls.record(db, calls.of_job(job, "tool", "unity_build", "refused", 0.0), prices)
    chat = calls.RecordingChat(chat, db, prices, job)  # each answer an `assist` call
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from spark import metrics
from spark.config import ModelPrice
from spark.db import calls as queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.jobs import Job
from spark.jobs.lifecycle import JobCanceled, JobLost
from spark.jobs.runner import JobContext
from spark.llm.base import (
    ChatTurn,
    Generation,
    GenerationProgress,
    ScriptGenerator,
    ScriptRequest,
    ToolChat,
)
from spark.llm.prices import cost_of
from spark.resilience.breaker import BreakerOpen

log = logging.getLogger(__name__)

CallKind = Literal["llm", "tool"]
#: what became of a call; "refused": never made (a permission, a quota, an open breaker)
CallStatus = Literal["ok", "error", "refused", "canceled"]


@dataclass(frozen=True)
class CallRecord:
    """One LLM or tool call as it ended. `model` is None for a tool call (and an LLM call
    that failed before a model answered); tokens are 0 where none were spent."""

    owner: str
    kind: CallKind
    name: str
    status: CallStatus
    duration_s: float
    session_id: str | None = None
    job_id: uuid.UUID | None = None
    model: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    #: the record's id when the call names itself: the end of a turn's tool call, which two
    #: continuers racing on one step can both report, is stored (and counted) once
    key: uuid.UUID | None = None


def record(db: Database, call: CallRecord, prices: Mapping[str, ModelPrice]) -> float:
    """Store the call, priced by the table, and move the call metrics
    (spark_function_call_duration_seconds, spark_llm_tokens_total, spark_llm_cost_total);
    returns its cost."""
    cost = cost_of(prices, call.model, call.tokens_in, call.tokens_out)
    stored = queries.StoredCall(
        id=call.key or uuid.uuid4(),
        ts=utcnow(),
        owner=call.owner,
        session_id=call.session_id,
        job_id=call.job_id,
        kind=call.kind,
        name=call.name[:64],
        model=call.model[:255] if call.model else None,
        status=call.status,
        duration_s=max(call.duration_s, 0.0),
        tokens_in=max(call.tokens_in, 0),
        tokens_out=max(call.tokens_out, 0),
        cost=cost,
    )
    with db.transaction() as tx:
        if not queries.insert_call(tx, stored):
            return cost  # recorded already
    tokens = (stored.tokens_in, stored.tokens_out)
    metrics.call_made(stored.name, stored.status, stored.duration_s, stored.model, tokens, cost)
    return cost


def of_job(
    job: Job,
    kind: CallKind,
    name: str,
    status: CallStatus,
    duration_s: float,
    model: str | None = None,
    tokens: tuple[int, int] = (0, 0),
) -> CallRecord:
    """A call the job made, charged to its owner, in its session."""
    return CallRecord(
        job.owner, kind, name, status, duration_s, job.session_id, job.id, model, *tokens
    )


def record_for(
    ctx: JobContext,
    *,
    kind: CallKind,
    name: str,
    status: CallStatus,
    duration_s: float,
    model: str | None = None,
    tokens_in: int = 0,
    tokens_out: int = 0,
) -> float:
    """Record a call the running job made (its owner, session and id filled in); its cost."""
    tools = ctx.need_tools()
    call = of_job(ctx.job, kind, name, status, duration_s, model, (tokens_in, tokens_out))
    return record(tools.db, call, tools.prices)


def status_of(exc: BaseException) -> CallStatus:
    """How a call that raised exc ended."""
    if isinstance(exc, JobCanceled | JobLost):
        return "canceled"
    if isinstance(exc, BreakerOpen):
        return "refused"
    return "error"


class RecordingGenerator:
    """A ScriptGenerator that records each call of the one it wraps, for one job."""

    def __init__(self, inner: ScriptGenerator, ctx: JobContext) -> None:
        self._inner = inner
        self._ctx = ctx

    def generate(self, request: ScriptRequest, on_progress: GenerationProgress) -> Generation:
        """The wrapped generation, recorded as `generate` or (a repair round) `repair`."""
        name = "generate" if request.repair_of is None else "repair"
        started = time.monotonic()
        try:
            generation = self._inner.generate(request, on_progress)
        except BaseException as exc:
            try:
                self._record(name, status_of(exc), time.monotonic() - started)
            except Exception:
                # The call's own failure is what the job must see, not its record's.
                log.exception("the failed %s call could not be recorded", name)
            raise
        tokens = (generation.tokens.prompt, generation.tokens.completion)
        self._record(name, "ok", time.monotonic() - started, generation.model, tokens)
        return generation

    def _record(
        self,
        name: str,
        status: CallStatus,
        seconds: float,
        model: str | None = None,
        tokens: tuple[int, int] = (0, 0),
    ) -> None:
        tools = self._ctx.need_tools()
        call = of_job(self._ctx.job, "llm", name, status, seconds, model, tokens)
        record(tools.db, call, tools.prices)


class RecordingChat:
    """A ToolChat that records each answer of the one it wraps as an `assist` LLM call of
    job (a failed answer as an error, then raised as it was)."""

    def __init__(
        self, inner: ToolChat, db: Database, prices: Mapping[str, ModelPrice], job: Job
    ) -> None:
        self._inner = inner
        self._db = db
        self._prices = prices
        self._job = job

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ChatTurn:
        """The wrapped model's answer, on record."""
        started = time.monotonic()
        try:
            answer = self._inner.chat(messages, tools)
        except BaseException as exc:
            try:
                failed = of_job(self._job, "llm", "assist", status_of(exc), _since(started))
                record(self._db, failed, self._prices)
            except Exception:
                log.exception("the failed assist call could not be recorded")
            raise
        tokens = (answer.tokens.prompt, answer.tokens.completion)
        done = of_job(self._job, "llm", "assist", "ok", _since(started), answer.model, tokens)
        record(self._db, done, self._prices)
        return answer


def _since(started: float) -> float:
    return time.monotonic() - started
