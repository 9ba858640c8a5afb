"""The session API's request and response bodies (CONTRACT §4: /v1/sessions)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from spark.contracts.jobs import JobPage
from spark.domain.sessions import EndReason, Session, SessionState, Turn

#: a title is a line a person reads in a list: no control characters
Title = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
]


class SessionIn(BaseModel):
    """POST /v1/sessions: an optional title, and the project its jobs work on."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    project_id: uuid.UUID | None = None


class SessionLinks(BaseModel):
    self: str
    jobs: str
    end: str


class SessionOut(BaseModel):
    """The session object."""

    id: str
    title: str | None
    project_id: uuid.UUID | None
    state: SessionState
    created_at: datetime
    last_active_at: datetime
    ended_at: datetime | None
    ended_reason: EndReason | None
    links: SessionLinks

    @classmethod
    def from_session(cls, session: Session) -> SessionOut:
        """The public view of a session (no owner)."""
        base = f"/v1/sessions/{session.id}"
        return cls(
            id=session.id,
            title=session.title,
            project_id=session.project_id,
            state=session.state,
            created_at=session.created_at,
            last_active_at=session.last_active_at,
            ended_at=session.ended_at,
            ended_reason=session.ended_reason,
            links=SessionLinks(
                self=base, jobs=f"/v1/jobs?session_id={session.id}", end=f"{base}/end"
            ),
        )


class SessionPage(BaseModel):
    """A page of GET /v1/sessions; pass next_cursor back as `cursor` for the next page."""

    items: list[SessionOut]
    next_cursor: str | None


class MessageOut(BaseModel):
    """One message of the conversation: the user's words, or SPARK's answer, and the turn
    (assist job) it belongs to."""

    role: Literal["user", "assistant"]
    text: str
    job_id: uuid.UUID


class SessionUsageOut(BaseModel):
    """What the session's jobs used: tokens summed over their usage records, and their cost
    by the operator's price table (SPARK_PRICES)."""

    jobs: int
    tokens_in: int
    tokens_out: int
    tokens: int
    cost: float
    #: models the price table does not name; their tokens count 0 in cost
    unpriced_models: list[str] = Field(default_factory=list)


class SessionDetailOut(SessionOut):
    """GET /v1/sessions/{id}: the session, its messages, a page of its jobs, its usage."""

    messages: list[MessageOut]
    jobs: JobPage
    usage: SessionUsageOut


def messages_of(turns: list[Turn]) -> list[MessageOut]:
    """Each turn as the user's message, followed by SPARK's answer once there is one."""
    messages: list[MessageOut] = []
    for turn in turns:
        messages.append(MessageOut(role="user", text=turn.text, job_id=turn.job_id))
        if turn.answer is not None:
            messages.append(MessageOut(role="assistant", text=turn.answer, job_id=turn.job_id))
    return messages
