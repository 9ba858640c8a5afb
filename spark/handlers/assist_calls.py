"""An assist job's tool calls, each checked as if its user had submitted it: the tools the
model is offered, the check that turns a call into a child job or a refusal, the reads it
answers itself, and what a finished child tells the model.

Every check is against the caller stored with the job (`params.caller`: what the submitting
credential could do) and the job's owner — never against anything the model, a file or a
tool result says — so an instruction planted in content can ask, but cannot widen.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from spark.config import TierLimits
from spark.contracts.assist import Caller
from spark.contracts.params import Params
from spark.contracts.tools import READ_FILE, ReadFileArgs, arguments_of, kind_tool_schema
from spark.contracts.tools import split_kind_args as split
from spark.db import projects as project_queries
from spark.db import usage as usage_queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.jobs import Job, JobKind
from spark.domain.principals import Tier
from spark.kinds import KindSpec, Quota, available
from spark.llm.base import ToolCall
from spark.projects import files
from spark.security import quotas

#: how much of a file or a child's result goes back to the model
MAX_TOOL_TEXT = 6_000


@dataclass(frozen=True)
class Approved:
    """A call that may run: the child job it becomes."""

    kind: JobKind
    params: dict[str, Any]
    project_id: uuid.UUID | None


@dataclass(frozen=True)
class Refused:
    """A call that may not run, and why (what the model is told)."""

    reason: str


@dataclass(frozen=True)
class Read:
    """A read the job answered itself (no job): what the model is told."""

    content: str


@dataclass(frozen=True)
class Asker:
    """Whom calls are checked for: the job's owner, within what its credential could do."""

    db: Database
    job: Job
    caller: Caller
    limits: TierLimits


def job_kinds() -> list[KindSpec]:
    """The kinds a model may call: every kind this server runs but assist itself."""
    return [spec for spec in available() if spec.kind is not JobKind.ASSIST]


def tool_definitions() -> list[dict[str, Any]]:
    """The tools offered to the model: the same schemas /mcp serves, and read_file."""
    return [kind_tool_schema(spec).function() for spec in job_kinds()] + [READ_FILE.function()]


def check(asker: Asker, call: ToolCall) -> Approved | Refused | Read:
    """What becomes of call: a child job, a refusal, or a read answered now."""
    try:
        arguments = arguments_of(call.arguments)
    except ValueError:
        return Refused("the arguments are not a JSON object")
    if call.name == READ_FILE.name:
        return _read_file(asker, arguments)
    spec = next((s for s in job_kinds() if s.kind.value == call.name), None)
    if spec is None:
        return Refused(f"there is no tool named {call.name!r}")
    try:
        args = kind_tool_schema(spec).args.model_validate(arguments)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "arguments"
        return Refused(f"invalid arguments: {where}: {first['msg']}")
    own, given, _ = split(args)
    project = _project(asker, own.get("project_id"))
    if isinstance(project, Refused):
        return project
    return _approve(asker, spec, spec.params.model_validate(given), project)


def _approve(
    asker: Asker, spec: KindSpec, params: Params, project_id: uuid.UUID | None
) -> Approved | Refused:
    dumped = params.model_dump(mode="json", by_alias=True)
    if spec.needs_project and project_id is None:
        return Refused(f"{spec.kind.value} needs a project to work on")
    needed = params.project_needed()
    if needed is not None and project_id is None:
        return Refused(f"{needed[0]}: {needed[1]}; that needs a project")
    if getattr(params, "write_to_project", False) and project_id is None:
        return Refused("write_to_project needs a project to write into")
    for permission in sorted(spec.permissions_for(dumped)):
        if not asker.caller.can(permission):
            return Refused(f"the user's credential lacks {permission.value}")
    over = _over_quota(asker, spec, dumped)
    if over is not None:
        return over
    return Approved(spec.kind, dumped, project_id)


def _project(asker: Asker, named: Any) -> uuid.UUID | Refused | None:
    """The project a call works on: the one it names if the owner has it, else the job's."""
    if named is None:
        return asker.job.project_id
    try:
        project_id = uuid.UUID(str(named))
    except ValueError:
        return Refused("project_id: not a project id")
    with asker.db.autocommit() as tx:
        found = project_queries.get_project(tx, project_id, asker.job.owner)
    # Someone else's project is as unknown to the call as one that does not exist.
    return project_id if found is not None else Refused("project_id: no such project")


def _over_quota(asker: Asker, spec: KindSpec, params: Mapping[str, Any]) -> Refused | None:
    """A quota the call would exceed, read now (the API's own checks hold at its inserts)."""
    wanted = spec.quotas_for(params)
    owner, limits = asker.job.owner, asker.limits
    if Quota.LLM_TOKENS in wanted:
        used, _ = usage_queries.month_usage(asker.db, owner, quotas.month_of(utcnow()))
        if used >= limits.tokens_per_month:
            return Refused(f"quota exceeded: {limits.tokens_per_month} LLM tokens per month")
    if Quota.CONCURRENT_BUILDS in wanted:
        with asker.db.autocommit() as tx:
            running = quotas.active_builds(tx, owner)
        if running >= limits.concurrent_builds:
            return Refused(f"quota exceeded: {limits.concurrent_builds} concurrent builds")
    return None


def _read_file(asker: Asker, arguments: Mapping[str, Any]) -> Read | Refused:
    try:
        args = ReadFileArgs.model_validate(arguments)
    except ValidationError as exc:
        return Refused(f"invalid arguments: {exc.errors(include_url=False)[0]['msg']}")
    project = _project(asker, args.project_id)
    if isinstance(project, Refused):
        return project
    if project is None:
        return Refused("read_file needs a project")
    stored = files.read(asker.db, project, args.path, args.version)
    if stored is None:
        return Refused(f"{args.path}: no such file")
    text = stored.content.decode("utf-8", errors="replace")[:MAX_TOOL_TEXT]
    return Read(json.dumps({"path": args.path, "version": stored.version.version, "content": text}))


def caller_of(job: Job) -> Caller:
    """The caller stored with the job; none stored (never from the API) may do nothing."""
    raw = job.params.get("caller")
    if isinstance(raw, Mapping):
        try:
            return Caller.model_validate(raw)
        except ValidationError:
            pass
    return Caller(tier=Tier.FREE, permissions=[])


def outcome_of(child: Job) -> dict[str, Any]:
    """What a finished child tells the model: its state and result or error, trimmed."""
    said: dict[str, Any] = {"tool": child.kind.value, "job_id": str(child.id)}
    said["status"] = child.state.value
    if child.error is not None:
        said["summary"] = f"{child.error.code}: {child.error.message}"
    result = dict(child.result or {})
    written = result.get("path") and result.get("version")
    if written:
        said["summary"] = f"wrote {result['path']} version {result['version']}"
    if child.kind is JobKind.RENDER_PREVIEW and child.result is not None:
        said["summary"] = "rendered a frame"
    said["result"] = json.dumps(result, default=str)[:MAX_TOOL_TEXT]
    return said
