"""The job API's request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from spark.domain.jobs import Job, JobKind, JobState

SessionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class JobSubmission(BaseModel):
    """POST /v1/jobs: what to run, for which session and project, how urgently."""

    model_config = ConfigDict(extra="forbid")

    kind: JobKind
    params: dict[str, Any] = Field(default_factory=dict)
    session_id: SessionId = "default"
    project_id: uuid.UUID | None = None
    #: 0 (lowest) to 9 (most urgent)
    priority: int = Field(default=5, ge=0, le=9)


class ProgressOut(BaseModel):
    percent: int
    message: str


class ErrorOut(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class LinksOut(BaseModel):
    self: str
    events: str
    log: str
    artifacts: str


class JobOut(BaseModel):
    """The job object of CONTRACT §4."""

    id: uuid.UUID
    kind: JobKind
    state: JobState
    progress: ProgressOut
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: ErrorOut | None
    attempts: int
    session_id: str
    project_id: uuid.UUID | None
    #: the job this one is a step of (null: submitted on its own)
    parent_id: uuid.UUID | None
    priority: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: LinksOut

    @classmethod
    def from_job(cls, job: Job) -> JobOut:
        """The public view of a job (no owner, no worker, no internal flags)."""
        base = f"/v1/jobs/{job.id}"
        error = job.error
        # A domain Job is valid by construction: building the view without validating it
        # again halves its cost on every poll (serialisation still follows the field types).
        return cls.model_construct(
            id=job.id,
            kind=job.kind,
            state=job.state,
            progress=ProgressOut.model_construct(
                percent=job.progress.percent, message=job.progress.message
            ),
            params=dict(job.params),
            result=dict(job.result) if job.result is not None else None,
            error=ErrorOut.model_construct(
                code=error.code,
                message=error.message,
                details=dict(error.details) if error.details else None,
            )
            if error
            else None,
            attempts=job.attempts,
            session_id=job.session_id,
            project_id=job.project_id,
            parent_id=job.parent_id,
            priority=job.priority,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            links=LinksOut.model_construct(
                self=base,
                events=f"{base}/events",
                log=f"{base}/log",
                artifacts=f"{base}/artifacts",
            ),
        )


class JobPage(BaseModel):
    """A page of GET /v1/jobs; pass next_cursor back as `cursor` for the next page."""

    items: list[JobOut]
    next_cursor: str | None


class ErrorBody(BaseModel):
    """Every error response: {"error": {code, message, details?}}."""

    error: ErrorOut
