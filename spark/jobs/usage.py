"""What a finished job used, as its usage record (written by the job's end, once per job)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spark.db import usage as usage_queries
from spark.domain.jobs import Job


def usage_of(job: Job) -> usage_queries.UsageRecord:
    """What the job used, from its recorded result (tokens, model) and its times."""
    result: Mapping[str, Any] = job.result or {}
    raw = result.get("tokens")
    tokens: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    finished = job.finished_at or job.created_at
    started = job.started_at or finished
    model = result.get("model")
    return usage_queries.UsageRecord(
        job_id=job.id,
        owner=job.owner,
        kind=job.kind.value,
        state=job.state.value,
        model=str(model)[:255] if model else None,
        tokens_in=_count(tokens.get("prompt")),
        tokens_out=_count(tokens.get("completion")),
        duration_ms=max(0, int((finished - started).total_seconds() * 1000)),
        created_at=finished,
        period=finished.strftime("%Y-%m"),
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0
