"""`assist`: one turn of a session — the text a user typed, and what the turn did and said."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from spark.contracts.params import Params
from spark.contracts.results import Result, Tokens
from spark.domain.principals import Permission, Principal, Tier


class Caller(BaseModel):
    """What the credential that submitted an assist job may do, as the API saw it then.

    Every tool call the turn makes is checked against this, never against anything the
    model or a file says, so nothing read during the turn widens what a call may do.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: Tier
    permissions: list[Permission]

    @classmethod
    def of(cls, principal: Principal) -> Caller:
        """The snapshot of principal stored with the job."""
        return cls(tier=principal.tier, permissions=sorted(principal.permissions))

    def can(self, permission: Permission) -> bool:
        """Whether the caller held permission (admin holds them all)."""
        return permission in self.permissions or Permission.ADMIN in self.permissions


class AssistParams(Params):
    """`assist`: plan and run SPARK's jobs for a request in plain words."""

    text: str = Field(min_length=1, max_length=10_000)
    #: set by the API from the submitting credential (whatever a request sends is replaced),
    #: so it is not part of the kind's published schema
    caller: SkipJsonSchema[Caller | None] = None


class MessageIn(BaseModel):
    """POST /v1/sessions/{id}/messages: what the user says; the session's next turn."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=10_000)


CallStatus = Literal["succeeded", "failed", "canceled", "timed_out", "refused", "read"]


class AssistCall(BaseModel):
    """One tool call of the turn: the job it started, or why it was refused."""

    tool: str
    job_id: str | None = None
    status: CallStatus
    reason: str | None = None


class AssistResult(Result):
    """`assist`: the answer, every call the turn made, and what its LLM calls cost."""

    text: str
    calls: list[AssistCall]
    provider: str
    model: str | None
    tokens: Tokens
    cost: float
    steps: int
