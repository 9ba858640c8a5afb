"""The event envelope and its NATS subject (CONTRACT §7)."""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from spark.db.types import utcnow
from spark.domain.jobs import Job, JobKind, JobState
from spark.security.scrub import scrub

STREAM = "SPARK"
STREAM_SUBJECTS = ["spark.>"]
DLQ_SUBJECT = "spark.dlq"


class Family(enum.StrEnum):
    """Which subject tree a kind's events go to."""

    RUNTIME = "runtime"
    PREVIEW = "preview"
    BUILD = "build"


def family_of(kind: JobKind) -> Family:
    """The family of a job kind."""
    if kind is JobKind.UNITY_BUILD:
        return Family.BUILD
    if kind is JobKind.RENDER_PREVIEW:
        return Family.PREVIEW
    return Family.RUNTIME


class EventType(enum.StrEnum):
    """What happened to the job."""

    STARTED = "started"
    PROGRESS = "progress"
    FRAME = "frame"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELED = "canceled"


TERMINAL_TYPES = frozenset(
    {EventType.COMPLETED, EventType.FAILED, EventType.TIMEOUT, EventType.CANCELED}
)


def terminal_type(job: Job) -> EventType:
    """The event type for a finished job; only builds have a separate timeout subject."""
    if job.state is JobState.SUCCEEDED:
        return EventType.COMPLETED
    if job.state is JobState.CANCELED:
        return EventType.CANCELED
    if job.state is JobState.TIMED_OUT and family_of(job.kind) is Family.BUILD:
        return EventType.TIMEOUT
    return EventType.FAILED


@dataclass(frozen=True)
class Event:
    """One event: {id, type, job_id, job_kind, session_id, ts, data}."""

    type: EventType
    job_id: uuid.UUID
    job_kind: JobKind
    session_id: str
    data: Mapping[str, Any]
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    ts: datetime = field(default_factory=utcnow)

    @property
    def subject(self) -> str:
        """spark.<family>.unity.<type>.<session>."""
        return f"spark.{family_of(self.job_kind).value}.unity.{self.type.value}.{self.session_id}"

    def envelope(self) -> dict[str, Any]:
        """The JSON-ready envelope."""
        return {
            "id": str(self.id),
            "type": self.type.value,
            "job_id": str(self.job_id),
            "job_kind": self.job_kind.value,
            "session_id": self.session_id,
            "ts": self.ts.isoformat(),
            "data": dict(self.data),
        }

    def encode(self) -> bytes:
        """The envelope as UTF-8 JSON."""
        return encode_envelope(self.envelope())


def encode_envelope(envelope: Mapping[str, Any]) -> bytes:
    """An envelope as the compact UTF-8 JSON that goes on the wire."""
    return json.dumps(envelope, separators=(",", ":")).encode()


def job_event(job: Job, type_: EventType, data: Mapping[str, Any] | None = None) -> Event:
    """An event about job; its data is scrubbed here, before it can leave the process."""
    return Event(type_, job.id, job.kind, job.session_id, scrub(dict(data or {})))


def outcome_event(job: Job) -> Event:
    """The terminal event of a finished job."""
    data: dict[str, Any] = {"state": job.state.value, "attempts": job.attempts}
    if job.started_at and job.finished_at:
        data["duration_s"] = round((job.finished_at - job.started_at).total_seconds(), 3)
    if job.error is not None:
        data["error"] = {"code": job.error.code, "message": job.error.message}
    if job.result is not None and "path" in job.result:
        data["path"] = job.result["path"]
    return job_event(job, terminal_type(job), data)
