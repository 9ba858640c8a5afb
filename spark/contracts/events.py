"""The event envelope as it crosses the wire; the consumer validates with it."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from spark.contracts.jobs import SessionId
from spark.domain.events import Event, EventFamily, EventType
from spark.domain.jobs import JobKind


class InvalidEvent(Exception):
    """A message that is not a SPARK event envelope."""


class EventEnvelope(BaseModel):
    """{id, type, job_id, job_kind, session_id, ts, data}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: uuid.UUID
    type: EventType
    #: None on a session's started and ended events, which are about no job
    job_id: uuid.UUID | None
    job_kind: JobKind | None
    session_id: SessionId
    ts: AwareDatetime
    data: dict[str, Any]

    def to_event(self, family: EventFamily) -> Event:
        """The domain event, on its kind's subject tree."""
        return Event(
            type=self.type,
            job_id=self.job_id,
            job_kind=self.job_kind,
            family=family,
            session_id=self.session_id,
            data=self.data,
            id=self.id,
            ts=self.ts,
        )
