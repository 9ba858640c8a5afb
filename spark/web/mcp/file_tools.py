"""MCP tools and resources over a project's versioned files: list, read, history, diff,
rollback, and the files and job logs as resources — each through the public file routes."""

from __future__ import annotations

import base64
import difflib
import uuid
from typing import Annotated
from urllib.parse import parse_qs, quote, unquote, urlsplit

import mcp_types as types
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ConfigDict, Field

from spark.contracts.files import FileOut, FilePage, FileVersionOut, VersionPage
from spark.web.mcp.answers import error_of, from_answer, refusal, structured
from spark.web.mcp.catalog import Call, ToolSpec
from spark.web.mcp.job_tools import READ
from spark.web.mcp.loopback import Answer, Loopback
from spark.web.routes import files as file_routes

#: a project path as the file routes take it (they check it further)
ProjectPath = Annotated[
    str, Field(min_length=1, max_length=1024, description="e.g. Assets/Scripts/Player.cs")
]
Version = Annotated[int, Field(ge=1)]

FILE_TEMPLATE = "spark://projects/{project_id}/files/{+path}{?version}"
LOG_TEMPLATE = "spark://jobs/{job_id}/log"
#: JSON-RPC's "invalid params": a resource URI SPARK does not serve
INVALID_PARAMS = -32602


class ProjectFiles(file_routes.ListQuery):
    project_id: uuid.UUID


class FileRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: uuid.UUID
    path: ProjectPath
    version: Version | None = None


class HistoryArgs(file_routes.HistoryQuery):
    project_id: uuid.UUID
    path: ProjectPath


class DiffArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: uuid.UUID
    path: ProjectPath
    from_version: Version
    to_version: Version


class DiffOut(BaseModel):
    """A unified diff between two versions of one file."""

    path: str
    from_version: int
    to_version: int
    diff: str


class RollbackArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: uuid.UUID
    path: ProjectPath
    to_version: Version


def _file_url(project_id: uuid.UUID | str, path: str, suffix: str = "") -> str:
    return f"/v1/projects/{project_id}/files/{quote(path)}{suffix}"


async def list_files(call: Call) -> types.CallToolResult:
    args = call.args
    assert isinstance(args, ProjectFiles)
    query = args.model_dump(mode="json", exclude={"project_id"}, exclude_none=True)
    url = f"/v1/projects/{args.project_id}/files"
    return from_answer(await call.loopback.call("GET", url, query=query))


async def read_file(call: Call) -> types.CallToolResult:
    args = call.args
    assert isinstance(args, FileRef)
    url = _file_url(args.project_id, args.path)
    return from_answer(await call.loopback.call("GET", url, query={"version": args.version}))


async def file_history(call: Call) -> types.CallToolResult:
    args = call.args
    assert isinstance(args, HistoryArgs)
    query = args.model_dump(mode="json", exclude={"project_id", "path"}, exclude_none=True)
    url = _file_url(args.project_id, args.path, "/history")
    return from_answer(await call.loopback.call("GET", url, query=query))


async def diff_versions(call: Call) -> types.CallToolResult:
    """Both versions read through the file route (each checked as a read), then diffed."""
    args = call.args
    assert isinstance(args, DiffArgs)
    texts = []
    for version in (args.from_version, args.to_version):
        answer = await call.loopback.call(
            "GET", _file_url(args.project_id, args.path), query={"version": version}
        )
        if not answer.ok:
            return refusal(answer)
        texts.append(str(answer.json().get("content") or ""))
    diff = difflib.unified_diff(
        texts[0].splitlines(keepends=True),
        texts[1].splitlines(keepends=True),
        f"a/{args.path}@{args.from_version}",
        f"b/{args.path}@{args.to_version}",
    )
    out = DiffOut(
        path=args.path,
        from_version=args.from_version,
        to_version=args.to_version,
        diff="".join(diff),
    )
    return structured(out.model_dump())


async def rollback_file(call: Call) -> types.CallToolResult:
    args = call.args
    assert isinstance(args, RollbackArgs)
    url = _file_url(args.project_id, args.path, "/rollback")
    return from_answer(await call.loopback.call("POST", url, body={"to_version": args.to_version}))


def file_tools() -> list[ToolSpec]:
    """The fixed tools over project files."""
    # A rollback changes the file but destroys nothing: it adds a version, and history keeps
    # every earlier one (as a job's write does).
    write = types.ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
    )
    return [
        ToolSpec(
            "list_files",
            "A project's files (newest version of each path), in path "
            "order, those under prefix; pass next_cursor back as cursor.",
            ProjectFiles,
            FilePage,
            READ,
            list_files,
        ),
        ToolSpec(
            "read_file",
            "A project file's content and version (the newest, or `version`).",
            FileRef,
            FileOut,
            READ,
            read_file,
        ),
        ToolSpec(
            "file_history",
            "A file's versions, newest first: author, job, message, "
            "time; a deleted version says deleted.",
            HistoryArgs,
            VersionPage,
            READ,
            file_history,
        ),
        ToolSpec(
            "diff_versions",
            "A unified diff from one version of a file to another.",
            DiffArgs,
            DiffOut,
            READ,
            diff_versions,
        ),
        ToolSpec(
            "rollback_file",
            "Make a file's content what version `to_version` held, as "
            "a new version (history keeps every version; a tombstone deletes it again).",
            RollbackArgs,
            FileVersionOut,
            write,
            rollback_file,
        ),
    ]


def resource_templates() -> list[types.ResourceTemplate]:
    """Project files (text or bytes by content; `?version=N` for an older one) and job logs."""
    return [
        types.ResourceTemplate(
            name="project_file",
            title="A project file",
            uri_template=FILE_TEMPLATE,
            description="A file of one of your projects: its newest version, or ?version=N.",
        ),
        types.ResourceTemplate(
            name="job_log",
            title="A job's log",
            uri_template=LOG_TEMPLATE,
            description="The log of one of your jobs (a build, compile check or test run).",
            mime_type="text/plain",
        ),
    ]


async def read_resource(loopback: Loopback, uri: str) -> types.ReadResourceResult:
    """A resource by URI; an MCP error for a URI SPARK does not serve or the API refuses."""
    parts = urlsplit(uri)
    segments = parts.path.strip("/").split("/")
    if parts.scheme != "spark" or ".." in unquote(parts.path).split("/"):
        raise MCPError(INVALID_PARAMS, f"not a SPARK resource: {uri}")
    if parts.netloc == "jobs" and len(segments) == 2 and segments[1] == "log":
        answer = await loopback.call("GET", f"/v1/jobs/{_uuid(segments[0], uri)}/log")
        _check(answer, uri)
        text = answer.body.decode("utf-8", errors="replace")
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type="text/plain", text=text)]
        )
    if parts.netloc == "projects" and len(segments) >= 3 and segments[1] == "files":
        version = parse_qs(parts.query).get("version", [None])[0]
        url = _file_url(_uuid(segments[0], uri), unquote("/".join(segments[2:])))
        answer = await loopback.call(
            "GET", url, query={"version": version}, accept="application/octet-stream"
        )
        _check(answer, uri)
        return types.ReadResourceResult(contents=[_contents(uri, answer.body)])
    raise MCPError(INVALID_PARAMS, f"not a SPARK resource: {uri}")


def _uuid(text: str, uri: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise MCPError(INVALID_PARAMS, f"not a SPARK resource: {uri}") from None


def _check(answer: Answer, uri: str) -> None:
    if answer.ok:
        return
    code, message, _ = error_of(answer)
    raise MCPError(INVALID_PARAMS, f"{uri}: {code}: {message}")


def _contents(uri: str, body: bytes) -> types.TextResourceContents | types.BlobResourceContents:
    """Text when the bytes are UTF-8 (scripts, YAML assets), else a base64 blob."""
    try:
        return types.TextResourceContents(
            uri=uri, mime_type="text/plain", text=body.decode("utf-8")
        )
    except UnicodeDecodeError:
        blob = base64.b64encode(body).decode()
        return types.BlobResourceContents(uri=uri, mime_type="application/octet-stream", blob=blob)
