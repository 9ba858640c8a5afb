"""/v1/projects/{id}/files and …/history: a project's versioned files, listed, read, rolled
back, deleted, exported and imported.

Every route answers 404 for a project the caller does not own, exactly as for one that does
not exist. Files are read from the primary: a client reads a file right after a job or a
rollback wrote it, and a lagging replica would show it the version before.
"""

from __future__ import annotations

import logging
import uuid
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from spark.broker.app import PUSH_FILE_TASK
from spark.contracts.files import (
    FileHeadOut,
    FileOut,
    FilePage,
    FileVersionOut,
    HistoryDocument,
    HistoryImported,
    RollbackIn,
    VersionPage,
    check_file_path,
    export_chunks,
)
from spark.contracts.queries import BLANK_IS_NONE
from spark.db.types import utcnow
from spark.domain.files import Author, FileHead, FileVersion, StoredFile
from spark.domain.projects import Project
from spark.errors import ValidationFailed
from spark.projects import files, registry
from spark.web.bodies import parse, read_json
from spark.web.cursors import after_path, before_version, decode_after_path, decode_before_version
from spark.web.headers import attachment
from spark.web.routing import ApiRoute
from spark.web.services import principal_of, services

log = logging.getLogger(__name__)

_PROJECT = "/v1/projects/{project_id:uuid}"
_FILE = _PROJECT + "/files/{path:path}"


Version = Annotated[int, Field(ge=1, le=2**31 - 1)]


class ListQuery(BaseModel):
    """Query parameters of GET …/files."""

    model_config = ConfigDict(extra="forbid")

    prefix: str = Field(default="", max_length=512)
    limit: int = Field(default=50, ge=1, le=200)
    cursor: Annotated[str | None, BLANK_IS_NONE] = None


class HistoryQuery(BaseModel):
    """Query parameters of GET …/files/{path}/history."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    cursor: Annotated[str | None, BLANK_IS_NONE] = None


class FileQuery(BaseModel):
    """Query parameters of GET …/files/{path}."""

    model_config = ConfigDict(extra="forbid")

    version: Annotated[Version | None, BLANK_IS_NONE] = None


class DeleteQuery(BaseModel):
    """Query parameters of DELETE …/files/{path}."""

    model_config = ConfigDict(extra="forbid")

    #: the version the caller read: 409 version_conflict when the file has moved past it
    base_version: Annotated[Version | None, BLANK_IS_NONE] = None
    message: str = Field(default="", max_length=500)


def _json(body: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body.model_dump_json(), status, headers, media_type="application/json")


def _file_path(request: Request) -> str:
    """The {path} of the request as a project file path; 422 naming `path` if it is not one."""
    try:
        return check_file_path(request.path_params["path"])
    except ValueError as exc:
        raise ValidationFailed(f"path: {exc}", details={"field": "path"}) from None


async def list_files(request: Request) -> Response:
    """GET …/files: the project's files in path order, those under prefix, a page at a time."""
    owner = principal_of(request).user
    project_id: uuid.UUID = request.path_params["project_id"]
    query = parse(ListQuery, dict(request.query_params))
    after = decode_after_path(query.cursor) if query.cursor else None
    args = (services(request).db, project_id, owner, query.prefix, after, query.limit + 1)
    heads = await run_in_threadpool(files.owned_heads, *args)
    page, more = heads[: query.limit], len(heads) > query.limit
    body = FilePage(
        items=[FileHeadOut.from_head(h) for h in page],
        next_cursor=after_path(page[-1].path) if more else None,
    )
    return _json(body)


def wants_bytes(accept: str) -> bool:
    """Whether Accept asks for the raw bytes: application/octet-stream named before any JSON."""
    for part in accept.split(","):
        mime = part.split(";", 1)[0].strip().lower()
        if mime == "application/octet-stream":
            return True
        if mime == "application/json":
            return False
    return False


def not_modified(if_none_match: str | None, sha256: str) -> bool:
    """Whether If-None-Match already names this content (weak tags compare equal, RFC 9110)."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or f'"{sha256}"' in tags


async def get_file(request: Request) -> Response:
    """GET …/files/{path}: a version (the newest, or ?version=N) as JSON with its content, or
    its raw bytes with ETag and X-File-Version when Accept asks for application/octet-stream."""
    owner = principal_of(request).user
    project_id: uuid.UUID = request.path_params["project_id"]
    query = parse(FileQuery, dict(request.query_params))
    path = _file_path(request)
    raw = wants_bytes(request.headers.get("accept", ""))
    # Only the raw bytes carry the ETag, so only they can be revalidated with it.
    if_none_match = request.headers.get("if-none-match") if raw else None
    have = partial(not_modified, if_none_match)
    args = (services(request).db, project_id, owner, path, query.version, have)
    found = await run_in_threadpool(files.owned_read, *args)
    version = found.version if isinstance(found, StoredFile) else found
    headers = {"X-File-Version": str(version.version), "Vary": "Accept"}
    if not raw:
        assert isinstance(found, StoredFile)  # nothing to revalidate without If-None-Match
        return _json(FileOut.from_stored(found), headers=headers)
    headers["ETag"] = f'"{version.sha256}"'
    if not isinstance(found, StoredFile):
        return Response(status_code=304, headers=headers)
    # the user's own bytes: saved by a browser, never rendered
    headers["Content-Disposition"] = attachment(path.rpartition("/")[2])
    return Response(found.content, media_type="application/octet-stream", headers=headers)


async def file_history(request: Request) -> Response:
    """GET …/files/{path}/history: the file's versions, newest first, a page at a time."""
    owner = principal_of(request).user
    project_id: uuid.UUID = request.path_params["project_id"]
    query = parse(HistoryQuery, dict(request.query_params))
    before = decode_before_version(query.cursor) if query.cursor else None
    path = _file_path(request)
    args = (services(request).db, project_id, owner, path, query.limit + 1, before)
    versions = await run_in_threadpool(files.owned_history, *args)
    page, more = versions[: query.limit], len(versions) > query.limit
    body = VersionPage(
        items=[FileVersionOut.from_version(v) for v in page],
        next_cursor=before_version(page[-1].version) if more else None,
    )
    return _json(body)


def _push_to_editor(celery: Any, project: Project, version: FileVersion) -> None:
    """Have a worker push the new version (a tombstone: the deletion) into the project's
    editor, if it has one. A broker that is away costs only that push: the next job writing
    the file finds the editor's copy stale and says so."""
    if not (project.unity_mcp_url or project.unity_instance):
        return
    try:
        args = [str(project.id), version.path, version.version]
        celery.send_task(PUSH_FILE_TASK, args=args)
    except Exception:
        log.warning("could not ask a worker to push %s to its editor", version.path, exc_info=True)


async def rollback_file(request: Request) -> Response:
    """POST …/files/{path}/rollback {to_version}: 201 with the new version, whose content is
    to_version's, written by the caller."""
    principal = principal_of(request)
    project_id: uuid.UUID = request.path_params["project_id"]
    path = _file_path(request)
    body = parse(RollbackIn, await read_json(request))
    author = Author(principal.user, principal.subject, None)
    svc = services(request)

    def write() -> FileVersion:
        project = registry.owned(svc.db, project_id, principal.user)
        version = files.rollback(svc.db, project_id, path, body.to_version, author)
        _push_to_editor(svc.celery, project, version)
        return version

    version = await run_in_threadpool(write)
    location = f"/v1/projects/{project_id}/files/{quote(path)}?version={version.version}"
    return _json(FileVersionOut.from_version(version), 201, {"Location": location})


async def delete_file(request: Request) -> Response:
    """DELETE …/files/{path}: 200 with the tombstone version written by the caller; 404 when
    the file has no versions or is deleted already, 409 when base_version is stale.

    A worker deletes the file in the project's editor too, if its copy there is still the
    version deleted (one edited in Unity is left alone); the next build lays the deletion
    over its workspace.
    """
    principal = principal_of(request)
    project_id: uuid.UUID = request.path_params["project_id"]
    query = parse(DeleteQuery, dict(request.query_params))
    path = _file_path(request)
    author = Author(principal.user, principal.subject, None)
    message = query.message or "delete"
    svc = services(request)

    def write() -> FileVersion:
        project = registry.owned(svc.db, project_id, principal.user)
        version = files.delete(
            svc.db, project_id, path, author, message, base_version=query.base_version
        ).after
        _push_to_editor(svc.celery, project, version)
        return version

    version = await run_in_threadpool(write)
    return _json(FileVersionOut.from_version(version))


async def export_history(request: Request) -> Response:
    """GET …/history/export: every version of every file with its content, as one JSON
    document streamed a version at a time (never held whole in memory)."""
    owner = principal_of(request).user
    project_id: uuid.UUID = request.path_params["project_id"]
    db = services(request).db
    await run_in_threadpool(registry.owned, db, project_id, owner)
    chunks = export_chunks(project_id, utcnow(), files.history_of(db, project_id))
    disposition = f'attachment; filename="spark-history-{project_id}.json"'
    return StreamingResponse(
        chunks, media_type="application/json", headers={"Content-Disposition": disposition}
    )


async def import_history(request: Request) -> Response:
    """POST …/history/import: a history document, validated whole, then written all or
    nothing with its versions, hashes, authors and times; 409 if any path exists already."""
    owner = principal_of(request).user
    project_id: uuid.UUID = request.path_params["project_id"]
    document = parse(HistoryDocument, await read_json(request))
    history = document.stored(project_id)
    db = services(request).db

    def write() -> list[FileHead]:
        registry.owned(db, project_id, owner)
        return files.import_history(db, project_id, history)

    heads = await run_in_threadpool(write)
    body = HistoryImported(files=[FileHeadOut.from_head(h) for h in heads], versions=len(history))
    return _json(body, 201)


routes = [
    ApiRoute(f"{_PROJECT}/files", list_files, method="GET", query=ListQuery),
    # Before the file itself, so a path ending in /history or /rollback reaches these.
    ApiRoute(f"{_FILE}/history", file_history, method="GET", query=HistoryQuery),
    ApiRoute(f"{_FILE}/rollback", rollback_file, method="POST"),
    ApiRoute(_FILE, get_file, method="GET", query=FileQuery),
    ApiRoute(_FILE, delete_file, method="DELETE", query=DeleteQuery),
    ApiRoute(f"{_PROJECT}/history/export", export_history, method="GET"),
    ApiRoute(f"{_PROJECT}/history/import", import_history, method="POST"),
]
