"""GET /v1/farm's body: every live builder and the targets none declares (CONTRACT §4)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from spark.domain.targets import BuildTarget


class BuilderOut(BaseModel):
    """One live builder as its heartbeat describes it."""

    #: the Celery node name, as Flower shows it
    node: str
    #: the machine's host name
    host: str
    os: str
    unity_versions: list[str]
    targets: list[BuildTarget]
    state: Literal["idle", "busy"]
    #: the job it runs, shown only to the job's owner (and to spark:admin)
    job_id: str | None = Field(default=None)
    last_seen: str


class FarmOut(BaseModel):
    """The build farm now."""

    builders: list[BuilderOut]
    #: the targets no live builder declares
    targets_without_builder: list[BuildTarget]
