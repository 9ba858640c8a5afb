"""/v1/projects: register, list and read projects, and see their webhook deliveries."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from spark.contracts.projects import (
    CreatedProjectOut,
    DeliveryOut,
    DeliveryPage,
    ProjectIn,
    ProjectOut,
    ProjectPage,
)
from spark.contracts.queries import BLANK_IS_NONE
from spark.db.types import utcnow
from spark.domain.projects import Project, Webhook, file_url, local_source
from spark.errors import NotFound, ValidationFailed
from spark.projects import registry, webhooks
from spark.security import sources
from spark.security.permissions import PROJECT_PERMISSIONS
from spark.web.bodies import parse, read_json
from spark.web.cursors import after_stamp, decode_after_stamp
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, require_any, services


def _json(body: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body.model_dump_json(), status, headers, media_type="application/json")


class PageQuery(BaseModel):
    """Query parameters of GET /v1/projects."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: Annotated[str | None, BLANK_IS_NONE] = None


class DeliveryQuery(BaseModel):
    """Query parameters of GET /v1/projects/{id}/deliveries."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=100)


def new_project(owner: str, body: ProjectIn) -> Project:
    """The project body describes, owned by owner; webhooks without a secret get a fresh one."""
    project_id = uuid.uuid4()
    return Project(
        id=project_id,
        owner=owner,
        name=body.name,
        created_at=utcnow(),
        source_dir=body.source_dir,
        git_url=body.git_url,
        default_ref=body.default_ref,
        unity_mcp_url=body.unity_mcp_url,
        unity_instance=body.unity_instance,
        webhooks=tuple(
            Webhook(
                id=uuid.uuid4(),
                project_id=project_id,
                url=hook.url,
                secret=hook.secret or secrets.token_urlsafe(32),
            )
            for hook in body.webhooks
        ),
    )


async def create_project(request: Request) -> Response:
    """POST /v1/projects: register a project; 201 with its webhook secrets, shown this once."""
    principal = principal_of(request)
    require_any(principal, PROJECT_PERMISSIONS, "registering a project")
    svc = services(request)
    body = parse(ProjectIn, await read_json(request))
    await run_in_threadpool(
        svc.destinations.require_allowed, _called_urls(body, svc.settings.unity_mcp_url)
    )
    roots, db = svc.settings.source_roots, svc.db

    def write() -> Project:
        placed, directory = _placed_source(body, roots, principal.user)
        return registry.register(db, new_project(principal.user, placed), directory)

    created = await run_in_threadpool(write)
    headers = {"Location": f"/v1/projects/{created.id}"}
    return _json(CreatedProjectOut.from_project(created), 201, headers)


def _called_urls(body: ProjectIn, operator_editor: str | None) -> list[tuple[str, str]]:
    """The URLs SPARK will call for the project, by field, checked now and again at each use;
    the operator's own editor server (SPARK_UNITY_MCP_URL) is trusted."""
    urls = [(f"webhooks.{index}.url", hook.url) for index, hook in enumerate(body.webhooks)]
    if body.unity_mcp_url is not None and body.unity_mcp_url != operator_editor:
        urls.insert(0, ("unity_mcp_url", body.unity_mcp_url))
    return urls


def _placed_source(
    body: ProjectIn, roots: list[Path] | None, user: str
) -> tuple[ProjectIn, Path | None]:
    """body with its directory (source_dir or file:// repository) resolved, and that
    directory; 422 naming the field unless it lies under one of the caller's roots. A remote
    git repository passes as it is, with no directory."""
    local = local_source(body.source_dir, body.git_url)
    if local is None:
        return body, None
    try:
        directory = sources.place(local.path, roots, user)
    except sources.SourceRefused as refused:
        field = local.field
        raise ValidationFailed(f"{field}: {refused}", details={"field": field}) from None
    stored = str(directory) if local.field == "source_dir" else file_url(directory)
    return body.model_copy(update={local.field: stored}), directory


async def get_project(request: Request) -> Response:
    """GET /v1/projects/{id}: the caller's project (without webhook secrets), or 404."""
    principal = principal_of(request)
    project_id: uuid.UUID = request.path_params["project_id"]
    project = await run_in_threadpool(
        registry.find, services(request).db, project_id, principal.user
    )
    if project is None:
        raise NotFound("no such project")
    return _json(ProjectOut.from_project(project))


async def list_projects(request: Request) -> Response:
    """GET /v1/projects: the caller's projects, newest first, one page at a time."""
    principal = principal_of(request)
    query = parse(PageQuery, dict(request.query_params))
    db = services(request).db

    after = decode_after_stamp(query.cursor) if query.cursor else None
    projects, more = await run_in_threadpool(registry.page, db, principal.user, query.limit, after)
    last = projects[-1] if more else None
    page = ProjectPage(
        items=[ProjectOut.from_project(p) for p in projects],
        next_cursor=after_stamp(last.created_at, last.id) if last else None,
    )
    return _json(page)


async def list_deliveries(request: Request) -> Response:
    """GET /v1/projects/{id}/deliveries: webhook delivery attempts for its builds, newest first."""
    principal = principal_of(request)
    project_id: uuid.UUID = request.path_params["project_id"]
    query = parse(DeliveryQuery, dict(request.query_params))
    found = await run_in_threadpool(
        webhooks.deliveries, services(request).db, project_id, principal.user, query.limit
    )
    return _json(DeliveryPage(items=[DeliveryOut.from_delivery(d) for d in found]))


routes = [
    ApiRoute("/v1/projects", create_project, method="POST"),
    ApiRoute("/v1/projects", list_projects, method="GET", query=PageQuery),
    ApiRoute("/v1/projects/{project_id:uuid}", get_project, method="GET"),
    ApiRoute(
        "/v1/projects/{project_id:uuid}/deliveries",
        list_deliveries,
        method="GET",
        query=DeliveryQuery,
    ),
]
