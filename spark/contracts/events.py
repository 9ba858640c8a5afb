"""The event envelope as it crosses the wire; the consumer validates with it."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from spark.contracts.jobs import SessionId
from spark.domain.jobs import JobKind
from spark.events.envelope import Event, EventType


class InvalidEvent(Exception):
    """A message that is not a SPARK event envelope."""


class EventEnvelope(BaseModel):
    """{id, type, job_id, job_kind, session_id, ts, data}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: uuid.UUID
    type: EventType
    job_id: uuid.UUID
    job_kind: JobKind
    session_id: SessionId
    ts: AwareDatetime
    data: dict[str, Any]

    def to_event(self) -> Event:
        """The domain event."""
        return Event(
            type=self.type,
            job_id=self.job_id,
            job_kind=self.job_kind,
            session_id=self.session_id,
            data=self.data,
            id=self.id,
            ts=self.ts,
        )


def decode_event(payload: bytes, subject: str | None = None) -> Event:
    """Parse and validate a message; InvalidEvent if it is not a well-formed event for subject."""
    try:
        event = EventEnvelope.model_validate_json(payload).to_event()
    except ValidationError as exc:
        raise InvalidEvent(str(exc.errors(include_url=False)[:3])) from None
    if subject is not None and event.subject != subject:
        raise InvalidEvent(f"subject {subject} does not match the envelope ({event.subject})")
    return event
