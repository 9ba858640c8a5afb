"""The build farm as its builders describe themselves: who is alive, what each builds, what
each is running."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from spark.domain.targets import BuildTarget

BuilderState = Literal["idle", "busy"]

#: the progress message of a queued job whose target no live builder declares
WAITING_PREFIX = "waiting for a builder for "


def waiting_message(target: BuildTarget) -> str:
    """What a queued job for target says while no live builder declares it."""
    return f"{WAITING_PREFIX}{target.value}"


@dataclass(frozen=True)
class BuilderBeat:
    """What a builder says of itself at each heartbeat."""

    #: the Celery node name (`spark<pid>@<host>`), as Flower shows it
    node: str
    #: the machine's host name
    host: str
    os: str
    unity_versions: tuple[str, ...]
    targets: tuple[BuildTarget, ...]
    last_seen: datetime


@dataclass(frozen=True)
class RunningJob:
    """A job one of a builder's processes is running, and whose it is (kept for filtering)."""

    node: str
    job_id: uuid.UUID
    owner: str


@dataclass(frozen=True)
class Builder:
    """A live builder and the jobs it is running."""

    beat: BuilderBeat
    jobs: tuple[RunningJob, ...] = ()

    @property
    def state(self) -> BuilderState:
        """busy while any of its processes runs a job."""
        return "busy" if self.jobs else "idle"


@dataclass(frozen=True)
class Farm:
    """Every live builder."""

    builders: tuple[Builder, ...]

    def declared(self) -> frozenset[BuildTarget]:
        """The targets some live builder declares."""
        return frozenset(t for b in self.builders for t in b.beat.targets)

    def without_builder(self, targets: Iterable[BuildTarget] = BuildTarget) -> list[BuildTarget]:
        """Those of targets (every target by default) no live builder declares, in order."""
        declared = self.declared()
        return [t for t in targets if t not in declared]


class FarmReader(Protocol):
    """Where the live builders are read from (spark/kv/farm.py)."""

    def read(self) -> Farm:
        """Every live builder."""
        ...
