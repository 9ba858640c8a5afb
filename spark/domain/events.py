"""Events as the domain sees them: what happened to a job or a session, and where it is
announced."""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from spark.domain.jobs import JobKind


class EventFamily(enum.StrEnum):
    """Which subject tree a kind's events go to (CONTRACT §7)."""

    RUNTIME = "runtime"
    PREVIEW = "preview"
    BUILD = "build"
    #: a session's own events (started, message, ended): about no job, or the turn's job
    SESSION = "session"


class EventType(enum.StrEnum):
    """What happened to the job (or, for the session family, to the session)."""

    STARTED = "started"
    PROGRESS = "progress"
    FRAME = "frame"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELED = "canceled"
    MESSAGE = "message"
    ENDED = "ended"


TERMINAL_TYPES = frozenset(
    {EventType.COMPLETED, EventType.FAILED, EventType.TIMEOUT, EventType.CANCELED}
)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Event:
    """One event: {id, type, job_id, job_kind, session_id, ts, data}, sent on its family's tree.

    A session's started and ended events are about no job: their job_id and job_kind are None.
    """

    type: EventType
    job_id: uuid.UUID | None
    job_kind: JobKind | None
    family: EventFamily
    session_id: str
    data: Mapping[str, Any]
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    ts: datetime = field(default_factory=_now)

    @property
    def subject(self) -> str:
        """spark.<family>.unity.<type>.<session>; a session's: spark.session.<type>.<session>."""
        if self.family is EventFamily.SESSION:
            return f"spark.session.{self.type.value}.{self.session_id}"
        return f"spark.{self.family.value}.unity.{self.type.value}.{self.session_id}"

    def envelope(self) -> dict[str, Any]:
        """The JSON-ready envelope."""
        return {
            "id": str(self.id),
            "type": self.type.value,
            "job_id": None if self.job_id is None else str(self.job_id),
            "job_kind": None if self.job_kind is None else self.job_kind.value,
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


def family_in_subject(subject: str) -> EventFamily:
    """The family a stored event's subject names (spark.<family>.…)."""
    return EventFamily(subject.split(".", 2)[1])
