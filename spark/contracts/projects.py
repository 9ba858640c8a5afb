"""The project API's request and response bodies (CONTRACT §4)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from spark.contracts.build_params import GitRef
from spark.domain.projects import Delivery, Project

MAX_URL = 2048
MAX_WEBHOOKS = 10
_GIT_SCHEMES = frozenset({"https", "http", "ssh", "git", "file"})
#: scp-like `user@host:path`; the host may not start with '-', so ssh never reads it as an option
_SCP_LIKE = re.compile(r"^[A-Za-z0-9_.~-]+@[A-Za-z0-9][A-Za-z0-9.-]*:\S+$")
_WHITESPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def _check_http_url(value: str) -> str:
    """Return value if it is an absolute http(s) URL, else raise ValueError."""
    if len(value) > MAX_URL:
        raise ValueError(f"must be at most {MAX_URL} characters")
    if _WHITESPACE_OR_CONTROL.search(value):
        raise ValueError("must not contain whitespace or control characters")
    parts = urlsplit(value)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    _ = parts.port  # raises ValueError for a port that is not a number in range
    return value


def _check_git_url(value: str) -> str:
    """Return value if git may clone it without reading any part as an option, else ValueError."""
    if len(value) > MAX_URL:
        raise ValueError(f"must be at most {MAX_URL} characters")
    if value.startswith("-") or _WHITESPACE_OR_CONTROL.search(value):
        raise ValueError("must not start with '-' or contain whitespace or control characters")
    if "://" not in value:
        if _SCP_LIKE.match(value):
            return value
        raise ValueError("must be an https, http, ssh, git or file URL, or user@host:path")
    parts = urlsplit(value)
    if parts.scheme.lower() not in _GIT_SCHEMES:
        raise ValueError("must be an https, http, ssh, git or file URL, or user@host:path")
    if parts.scheme.lower() == "file":
        if not parts.path.startswith("/"):
            raise ValueError("a file:// URL must name an absolute path")
        return value
    host = parts.hostname or ""
    if not host or host.startswith("-"):
        raise ValueError("must name a host that does not start with '-'")
    _ = parts.port
    return value


def _check_source_dir(value: str) -> str:
    """Return value if it is an absolute directory path (POSIX or Windows), else ValueError."""
    if "\x00" in value:
        raise ValueError("must not contain NUL")
    if len(value) > 4096:
        raise ValueError("must be at most 4096 characters")
    if not (PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute()):
        raise ValueError("must be an absolute path")
    return value


def _check_secret(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be printable characters only")
    return value


HttpUrlText = Annotated[str, AfterValidator(_check_http_url)]
GitUrl = Annotated[str, AfterValidator(_check_git_url)]
SourceDir = Annotated[str, AfterValidator(_check_source_dir)]
#: `Name@hash` as unity-mcp lists an instance, a hash prefix, or a project name (at most 165
#: characters, within its column's 200)
UnityInstance = Annotated[
    str, StringConstraints(pattern=r"^[^\x00-\x1f@]{1,100}(@[A-Za-z0-9]{1,64})?$")
]
ProjectName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$")]
WebhookSecret = Annotated[
    str, StringConstraints(min_length=16, max_length=128), AfterValidator(_check_secret)
]


class WebhookIn(BaseModel):
    """A URL to tell when a build ends; without a secret SPARK makes one (shown once)."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrlText
    secret: WebhookSecret | None = None


def _field_error(field: str, message: str) -> ValidationError:
    """A validation error located at field, so the 422 names it."""
    error = InitErrorDetails(
        type=PydanticCustomError("project_source", message), loc=(field,), input=None
    )
    return ValidationError.from_exception_data("ProjectIn", [error])


class ProjectIn(BaseModel):
    """POST /v1/projects: a name and at most one source, a directory or a git repository;
    with neither, SPARK's file store is the project's whole source."""

    model_config = ConfigDict(extra="forbid")

    name: ProjectName
    source_dir: SourceDir | None = None
    git_url: GitUrl | None = None
    #: the branch, tag or commit builds use when their params name no `ref`
    default_ref: GitRef | None = None
    unity_mcp_url: HttpUrlText | None = None
    #: the Unity instance on that server (`Name@hash` as unity-mcp lists it, or a hash prefix)
    #: that gets this project's editor work when several are connected
    unity_instance: UnityInstance | None = None
    webhooks: list[WebhookIn] = Field(default_factory=list, max_length=MAX_WEBHOOKS)

    @model_validator(mode="after")
    def _one_source(self) -> ProjectIn:
        if self.source_dir is not None and self.git_url is not None:
            raise _field_error("git_url", "give source_dir or git_url, not both")
        return self


class DirSource(BaseModel):
    """A directory the build workers can read."""

    dir: str


class GitSource(BaseModel):
    """A git repository the build workers clone."""

    git_url: str


class FilesSource(BaseModel):
    """SPARK's file store alone: builds start from an empty workspace and lay its files in."""

    files: Literal[True] = True


class WebhookOut(BaseModel):
    """A registered webhook; its secret is never shown again after creation."""

    id: uuid.UUID
    url: str


class CreatedWebhookOut(WebhookOut):
    """A webhook as the creating response shows it, with the secret that signs deliveries."""

    secret: str


class ProjectLinks(BaseModel):
    self: str
    deliveries: str


class ProjectOut(BaseModel):
    """The project object: where its files come from, and who hears of its builds."""

    id: uuid.UUID
    name: str
    source: DirSource | GitSource | FilesSource
    default_ref: str | None
    unity_mcp_url: str | None
    unity_instance: str | None
    created_at: datetime
    webhooks: list[WebhookOut]
    links: ProjectLinks

    @classmethod
    def from_project(cls, project: Project) -> ProjectOut:
        """The public view of a project (no owner, no webhook secrets)."""
        return cls.model_validate(_fields(project, with_secrets=False))


class CreatedProjectOut(ProjectOut):
    """The 201 body of POST /v1/projects: the one place webhook secrets appear."""

    webhooks: list[CreatedWebhookOut]  # type: ignore[assignment]

    @classmethod
    def from_project(cls, project: Project) -> CreatedProjectOut:
        """The new project, with its webhooks' secrets."""
        return cls.model_validate(_fields(project, with_secrets=True))


def _fields(project: Project, *, with_secrets: bool) -> dict[str, Any]:
    base = f"/v1/projects/{project.id}"
    source: dict[str, str | bool] = {"files": True}
    if project.source_dir is not None:
        source = {"dir": project.source_dir}
    elif project.git_url is not None:
        source = {"git_url": project.git_url}
    return {
        "id": project.id,
        "name": project.name,
        "source": source,
        "default_ref": project.default_ref,
        "unity_mcp_url": project.unity_mcp_url,
        "unity_instance": project.unity_instance,
        "created_at": project.created_at,
        "webhooks": [
            {"id": w.id, "url": w.url, **({"secret": w.secret} if with_secrets else {})}
            for w in project.webhooks
        ],
        "links": {"self": base, "deliveries": f"{base}/deliveries"},
    }


class ProjectPage(BaseModel):
    """A page of GET /v1/projects; pass next_cursor back as `cursor` for the next page."""

    items: list[ProjectOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    """One attempt to deliver a build's end to a webhook."""

    delivery_id: uuid.UUID
    webhook_id: uuid.UUID
    url: str
    job_id: uuid.UUID
    attempt: int
    #: null while the attempt waits for the receiver's answer
    ok: bool | None
    status_code: int | None
    error: str | None
    duration_ms: int
    created_at: datetime

    @classmethod
    def from_delivery(cls, d: Delivery) -> DeliveryOut:
        """The public view of a delivery attempt."""
        return cls(
            delivery_id=d.delivery_id,
            webhook_id=d.webhook_id,
            url=d.url,
            job_id=d.job_id,
            attempt=d.attempt,
            ok=d.ok,
            status_code=d.status_code,
            error=d.error,
            duration_ms=d.duration_ms,
            created_at=d.created_at,
        )


class DeliveryPage(BaseModel):
    """GET /v1/projects/{id}/deliveries: the latest attempts, newest first."""

    items: list[DeliveryOut]
