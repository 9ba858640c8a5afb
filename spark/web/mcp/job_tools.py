"""MCP tools over jobs: submit one of each kind (and follow it), read, list and cancel jobs,
a build's log, a preview's frame, presets and usage — each one request to the public route
that does the same over HTTP (spark/web/mcp/loopback.py)."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import mcp_types as types
from pydantic import BaseModel, ConfigDict

from spark.contracts.jobs import JobOut, JobPage
from spark.contracts.projects import ProjectPage
from spark.contracts.tools import split_kind_args
from spark.contracts.usage import UsageOut
from spark.domain.events import TERMINAL_TYPES
from spark.kinds import KindSpec
from spark.web.mcp.answers import from_answer, refusal, refused, structured
from spark.web.mcp.catalog import Call, ToolSpec, kind_tool
from spark.web.mcp.loopback import Answer
from spark.web.routes import jobs as job_routes
from spark.web.routes import logs as log_routes
from spark.web.routes import projects as project_routes

_TERMINAL = frozenset(t.value for t in TERMINAL_TYPES)


def _hints(
    *, read_only: bool, destructive: bool = False, idempotent: bool
) -> types.ToolAnnotations:
    return types.ToolAnnotations(
        read_only_hint=read_only,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=False,
    )


READ = _hints(read_only=True, idempotent=True)


class JobRef(BaseModel):
    """A job of the caller's."""

    model_config = ConfigDict(extra="forbid")

    job_id: uuid.UUID


class LogArgs(log_routes.LogQuery):
    """A job's log: errors and warnings only by default (compact)."""

    job_id: uuid.UUID
    compact: bool = True


class LogOut(BaseModel):
    """A page of a job's log."""

    job_id: str
    text: str
    next_offset: int
    total_lines: int
    complete: bool


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PresetList(BaseModel):
    """The game templates apply_preset writes."""

    items: list[dict[str, Any]]


class PreviewOut(BaseModel):
    """A rendered frame: the artifact, its size and format."""

    job_id: str
    artifact: str
    width: int
    height: int
    mime_type: str


async def submit(call: Call, kind: str) -> types.CallToolResult:
    """POST /v1/jobs for the tool's kind; with wait, follow the job until it ends."""
    own, params, wait = split_kind_args(call.args)
    body = {"kind": kind, "params": params, **own}
    answer = await call.loopback.call("POST", "/v1/jobs", body=body)
    if not answer.ok or not wait:
        return from_answer(answer)
    return await follow(call, answer.json()["id"])


async def follow(call: Call, job_id: str) -> types.CallToolResult:
    """Relay the job's progress events as progress notifications until it ends (or the wait
    runs out), then return the job as it is."""
    try:
        async with asyncio.timeout(call.wait_s):
            async for event in _events(call, job_id):
                kind, data = event.get("type"), event.get("data") or {}
                if kind == "started":
                    await call.report(0.0, 100.0, f"running (attempt {data.get('attempt', 1)})")
                elif kind == "progress":
                    percent = float(data.get("percent", 0))
                    await call.report(percent, 100.0, str(data.get("message", "")))
                elif kind in _TERMINAL:
                    await call.report(100.0, 100.0, str(data.get("state", kind)))
                    break
    except TimeoutError:
        pass  # the job goes on; the caller polls get_job
    return from_answer(await call.loopback.call("GET", f"/v1/jobs/{job_id}"))


async def _events(call: Call, job_id: str) -> AsyncIterator[dict[str, Any]]:
    """The job's events, live, from the public SSE route (each one's envelope)."""
    stream = call.loopback.streaming("GET", f"/v1/jobs/{job_id}/events", accept="text/event-stream")
    buffer = b""
    async for chunk in stream:
        if isinstance(chunk, Answer):
            if not chunk.ok:
                return
            continue
        buffer += chunk.replace(b"\r\n", b"\n")
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            data = [line[5:].strip() for line in block.split(b"\n") if line.startswith(b"data:")]
            if data:
                yield json.loads(b"\n".join(data))


async def get_job(call: Call) -> types.CallToolResult:
    args = call.args
    assert isinstance(args, JobRef)
    return from_answer(await call.loopback.call("GET", f"/v1/jobs/{args.job_id}"))


async def cancel_job(call: Call) -> types.CallToolResult:
    args = call.args
    assert isinstance(args, JobRef)
    return from_answer(await call.loopback.call("POST", f"/v1/jobs/{args.job_id}/cancel"))


async def list_jobs(call: Call) -> types.CallToolResult:
    query = call.args.model_dump(mode="json", exclude_none=True)
    return from_answer(await call.loopback.call("GET", "/v1/jobs", query=query))


async def list_projects(call: Call) -> types.CallToolResult:
    query = call.args.model_dump(mode="json", exclude_none=True)
    return from_answer(await call.loopback.call("GET", "/v1/projects", query=query))


async def list_presets(call: Call) -> types.CallToolResult:
    return from_answer(await call.loopback.call("GET", "/v1/presets"))


async def get_usage(call: Call) -> types.CallToolResult:
    return from_answer(await call.loopback.call("GET", "/v1/usage"))


async def get_build_log(call: Call) -> types.CallToolResult:
    args = call.args
    assert isinstance(args, LogArgs)
    query = args.model_dump(mode="json", exclude={"job_id"})
    answer = await call.loopback.call("GET", f"/v1/jobs/{args.job_id}/log", query=query)
    if not answer.ok:
        return refusal(answer)
    page = LogOut(
        job_id=str(args.job_id),
        text=answer.body.decode("utf-8", errors="replace"),
        next_offset=int(answer.headers.get("x-next-offset", "0")),
        total_lines=int(answer.headers.get("x-total-lines", "0")),
        complete=answer.headers.get("x-log-complete") == "true",
    )
    return structured(page.model_dump())


async def get_preview(call: Call) -> types.CallToolResult:
    """A finished render_preview's frame as image content, with its size."""
    args = call.args
    assert isinstance(args, JobRef)
    answer = await call.loopback.call("GET", f"/v1/jobs/{args.job_id}")
    if not answer.ok:
        return refusal(answer)
    job = answer.json()
    result = job.get("result") or {}
    if job.get("kind") != "render_preview" or "artifact" not in result:
        state = job.get("state")
        return refused(
            "no_frame", f"job {args.job_id} has no frame (a {job.get('kind')} job, {state})"
        )
    path = f"/v1/jobs/{args.job_id}/artifacts/{result['artifact']}"
    frame = await call.loopback.call("GET", path, accept="*/*")
    if not frame.ok:
        return refusal(frame)
    mime = frame.headers.get("content-type", "image/png").split(";")[0]
    info = PreviewOut(
        job_id=str(args.job_id),
        artifact=result["artifact"],
        width=int(result["width"]),
        height=int(result["height"]),
        mime_type=mime,
    ).model_dump()
    image = types.ImageContent(
        type="image", data=base64.b64encode(frame.body).decode(), mime_type=mime
    )
    text = types.TextContent(type="text", text=json.dumps(info))
    return types.CallToolResult(content=[image, text], structured_content=info)


def job_tools() -> list[ToolSpec]:
    """The fixed tools over jobs, presets and usage."""
    return [
        ToolSpec(
            "get_job",
            "A job of yours: state, progress, params, result or error.",
            JobRef,
            JobOut,
            READ,
            get_job,
        ),
        ToolSpec(
            "list_jobs",
            "Your jobs, newest first, filtered by kind, state, project, "
            "session or parent; pass next_cursor back as cursor for the next page.",
            job_routes.ListQuery,
            JobPage,
            READ,
            list_jobs,
        ),
        ToolSpec(
            "cancel_job",
            "Cancel a queued or running job (a running build's Unity "
            "process is stopped); a job that already ended is an error.",
            JobRef,
            JobOut,
            _hints(read_only=False, destructive=True, idempotent=False),
            cancel_job,
        ),
        ToolSpec(
            "list_projects",
            "Your projects.",
            project_routes.PageQuery,
            ProjectPage,
            READ,
            list_projects,
        ),
        ToolSpec(
            "get_build_log",
            "A job's log (a build, compile check or test run), from "
            "offset_lines; compact (the default) keeps errors and warnings only.",
            LogArgs,
            LogOut,
            READ,
            get_build_log,
        ),
        ToolSpec(
            "get_preview",
            "A finished render_preview job's frame, as an image.",
            JobRef,
            PreviewOut,
            READ,
            get_preview,
        ),
        ToolSpec(
            "list_presets",
            "The game templates apply_preset writes.",
            NoArgs,
            PresetList,
            READ,
            list_presets,
        ),
        ToolSpec(
            "get_usage",
            "Your tier, quotas and today's and this month's use.",
            NoArgs,
            UsageOut,
            READ,
            get_usage,
        ),
    ]


def kind_tools(specs: tuple[KindSpec, ...]) -> list[ToolSpec]:
    """One tool per job kind."""
    return [kind_tool(spec, functools.partial(submit, kind=spec.kind.value)) for spec in specs]
