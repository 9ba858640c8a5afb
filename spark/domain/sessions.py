"""Sessions: a user's conversation with SPARK, the jobs it runs, open until ended or idle."""

from __future__ import annotations

import enum
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

#: what POST /v1/sessions mints; only labels of this shape can name a session, so a job's
#: free label ("default", "level-1") never costs a lookup
_SESSION_ID = re.compile(r"^ses_[0-9a-f]{24}$")


class SessionState(enum.StrEnum):
    """Whether a session still takes jobs."""

    OPEN = "open"
    ENDED = "ended"


class EndReason(enum.StrEnum):
    """Who ended a session: its user, or the idle sweep."""

    USER = "user"
    IDLE = "idle"


def new_session_id() -> str:
    """A fresh session id, "ses_" and 24 hex digits (within CONTRACT §7's session pattern)."""
    return f"ses_{secrets.token_hex(12)}"


def may_be_session(label: str) -> bool:
    """Whether a job's session_id label has the shape of a minted session id."""
    return _SESSION_ID.match(label) is not None


@dataclass(frozen=True)
class Session:
    """A session as stored."""

    id: str
    owner: str
    state: SessionState
    created_at: datetime
    last_active_at: datetime
    title: str | None = None
    project_id: uuid.UUID | None = None
    ended_at: datetime | None = None
    ended_reason: EndReason | None = None


@dataclass(frozen=True)
class SessionUsage:
    """What a session's jobs used, per model: the tokens in and out each model was sent."""

    jobs: int
    #: (model or None, tokens_in, tokens_out) per model
    by_model: tuple[tuple[str | None, int, int], ...]

    @property
    def tokens_in(self) -> int:
        return sum(t_in for _, t_in, _ in self.by_model)

    @property
    def tokens_out(self) -> int:
        return sum(t_out for _, _, t_out in self.by_model)


@dataclass(frozen=True)
class Turn:
    """One turn of a session: what the user said (its assist job's text) and, once the job
    has answered, what SPARK said."""

    job_id: uuid.UUID
    state: str
    text: str
    answer: str | None
    created_at: datetime
