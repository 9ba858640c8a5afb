"""Jobs as the domain sees them: kinds, states and their legal moves, the job record."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class JobKind(enum.StrEnum):
    """What a job does (CONTRACT §1)."""

    GENERATE_SCRIPT = "generate_script"
    APPLY_PATCH = "apply_patch"
    APPLY_PRESET = "apply_preset"
    GENERATE_ASSET = "generate_asset"
    RENDER_PREVIEW = "render_preview"
    UNITY_BUILD = "unity_build"
    COMPILE_CHECK = "compile_check"
    EXPORT_PACKAGE = "export_package"
    RUN_TESTS = "run_tests"
    ASSIST = "assist"


class Queue(enum.StrEnum):
    """Celery queues; build-farm machines consume only BUILDS."""

    GENERATION = "generation"
    PATCHES = "patches"
    PREVIEWS = "previews"
    BUILDS = "builds"
    #: the scheduler's own work: outbox relay and the reaper
    MAINTENANCE = "maintenance"


class JobState(enum.StrEnum):
    """Where a job is in its life; terminal states never change."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMED_OUT = "timed_out"

    @property
    def terminal(self) -> bool:
        """Whether the state is final."""
        return self in TERMINAL_STATES

    def can_move_to(self, other: JobState) -> bool:
        """Whether other is a legal next state."""
        return other in LEGAL_MOVES[self]


TERMINAL_STATES = frozenset(
    {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED, JobState.TIMED_OUT}
)
LEGAL_MOVES: Mapping[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.RUNNING, JobState.CANCELED, JobState.FAILED}),
    # running→running is a takeover after the previous worker died; running→queued is a job
    # waiting for a failing dependency (its message comes back later)
    JobState.RUNNING: frozenset({JobState.RUNNING, JobState.QUEUED, *TERMINAL_STATES}),
    **{state: frozenset() for state in TERMINAL_STATES},
}


@dataclass(frozen=True)
class Progress:
    """How far a job has come."""

    percent: int = 0
    message: str = ""


@dataclass(frozen=True)
class JobError:
    """Why a job did not succeed."""

    code: str
    message: str
    details: Mapping[str, Any] | None = None


@dataclass(frozen=True, repr=False)
class Job:
    """A job as stored."""

    id: uuid.UUID
    owner: str
    kind: JobKind
    state: JobState
    params: Mapping[str, Any]
    created_at: datetime
    progress: Progress = field(default_factory=Progress)
    result: Mapping[str, Any] | None = None
    error: JobError | None = None
    attempts: int = 0
    session_id: str = "default"
    project_id: uuid.UUID | None = None
    #: the job this one is a step of (None: submitted on its own)
    parent_id: uuid.UUID | None = None
    priority: int = 5
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    worker: str | None = None
    cancel_requested: bool = False
    #: the API key id or JWT subject that submitted the job
    subject: str | None = None
    #: the X-Request-ID of the request that submitted the job (its log lines name it)
    request_id: str | None = None
    #: the child job this one waits for, holding no worker meanwhile (None: not waiting)
    waiting_on: uuid.UUID | None = None

    def __repr__(self) -> str:
        # Short on purpose: Celery logs a task's return value, and a result may hold 200 KB of code.
        return f"<Job {self.id} {self.kind.value} {self.state.value} attempt {self.attempts}>"


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a running job; attempt fences out earlier holders."""

    job: Job
    attempt: int
    worker: str
