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
    EXPORT_PACKAGE = "export_package"


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
class KindSpec:
    """How a kind runs: its queue, time limits and how long a queued job may wait unseen."""

    queue: Queue
    soft_time_limit_s: int
    hard_time_limit_s: int
    #: a queued job whose message has not been claimed after this long is sent again,
    #: in case the broker lost it (idempotent claim makes a duplicate harmless)
    redispatch_after_s: int = 900


KIND_SPECS: Mapping[JobKind, KindSpec] = {
    JobKind.GENERATE_SCRIPT: KindSpec(Queue.GENERATION, 120, 150),
    JobKind.APPLY_PATCH: KindSpec(Queue.PATCHES, 60, 90),
    JobKind.APPLY_PRESET: KindSpec(Queue.GENERATION, 120, 150),
    JobKind.GENERATE_ASSET: KindSpec(Queue.PATCHES, 60, 90),
    JobKind.RENDER_PREVIEW: KindSpec(Queue.PREVIEWS, 120, 180),
    JobKind.UNITY_BUILD: KindSpec(Queue.BUILDS, 3 * 3600, 3 * 3600 + 300, 6 * 3600),
    JobKind.EXPORT_PACKAGE: KindSpec(Queue.PATCHES, 600, 660),
}

#: the longest any message may stay unacknowledged; the broker's visibility timeout must exceed it
LONGEST_HARD_LIMIT_S = max(spec.hard_time_limit_s for spec in KIND_SPECS.values())


def task_name(kind: JobKind) -> str:
    """The Celery task name that runs jobs of this kind."""
    return f"spark.jobs.{kind.value}"


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
    priority: int = 5
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    worker: str | None = None
    cancel_requested: bool = False

    def __repr__(self) -> str:
        # Short on purpose: Celery logs a task's return value, and a result may hold 200 KB of code.
        return f"<Job {self.id} {self.kind.value} {self.state.value} attempt {self.attempts}>"


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a running job; attempt fences out earlier holders."""

    job: Job
    attempt: int
    worker: str
