"""Projects as the domain sees them: where their files come from, and who hears of their builds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Webhook:
    """A URL told when a build of the project ends; the secret signs each delivery."""

    id: uuid.UUID
    project_id: uuid.UUID
    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Project:
    """A Unity project: a directory the build workers can read, or a git repository."""

    id: uuid.UUID
    owner: str
    name: str
    created_at: datetime
    source_dir: str | None = None
    git_url: str | None = None
    #: the branch, tag or commit a build uses when its params name no `ref`
    default_ref: str | None = None
    unity_mcp_url: str | None = None
    #: which of the editors connected to that server gets the project's work (`Name@hash`,
    #: a hash prefix, or a project name only one of them has); None: the only one connected
    unity_instance: str | None = None
    webhooks: tuple[Webhook, ...] = ()


@dataclass(frozen=True)
class Delivery:
    """One attempt to tell a webhook that a build ended, and how it went."""

    id: uuid.UUID
    #: the same for every attempt at one job's webhook, so receivers can drop repeats
    delivery_id: uuid.UUID
    webhook_id: uuid.UUID
    url: str
    job_id: uuid.UUID
    attempt: int
    #: None while the attempt waits for the receiver's answer
    ok: bool | None
    status_code: int | None
    error: str | None
    duration_ms: int
    created_at: datetime
