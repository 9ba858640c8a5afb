"""Projects as the domain sees them: where their files come from, and who hears of their builds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from urllib.parse import quote, unquote


@dataclass(frozen=True)
class Webhook:
    """A URL told when a build of the project ends; the secret signs each delivery."""

    id: uuid.UUID
    project_id: uuid.UUID
    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Project:
    """A Unity project: a directory the build workers can read, a git repository, or
    neither, when SPARK's file store is its whole source."""

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


@dataclass(frozen=True)
class LocalSource:
    """The directory on the build machines a project reads, and the field that names it."""

    #: `source_dir`, or `git_url` for a repository on the machine itself
    field: str
    #: the path as the copy or git reads it, before any symlink is resolved
    path: str


def local_source(source_dir: str | None, git_url: str | None) -> LocalSource | None:
    """Which directory of the build machines a project with this source reads; None for a
    repository git fetches over the network."""
    if git_url is not None:
        path = git_local_path(git_url)
        return None if path is None else LocalSource("git_url", path)
    if source_dir is not None:
        return LocalSource("source_dir", source_dir)
    return None


def git_local_path(url: str) -> str | None:
    """The path git reads url from when url names a repository on this machine, else None.

    As git reads it: a `file://` URL's host is ignored, its %-escapes are decoded and `?` or
    `#` are part of the path; a URL without `://` is a local path unless it is scp-like
    (`host:path` with no `/` before the first `:`).
    """
    scheme, separator, rest = url.partition("://")
    if separator:
        if scheme.lower() != "file":
            return None
        _host, slash, path = rest.partition("/")
        return unquote(slash + path)
    colon = url.find(":")
    if colon > 0 and "/" not in url[:colon]:
        return None
    return url


def file_url(path: PurePath | str) -> str:
    """The file:// URL git reads exactly the directory path from."""
    return "file://" + quote(str(path))
