"""The MCP tool catalog: one tool per job kind the registry declares (so a new kind is a new
tool with no MCP code), and the fixed tools over jobs, files, presets and usage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import mcp_types as types
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from spark.contracts.jobs import JobOut, SessionId
from spark.kinds import KindSpec, available
from spark.web.mcp.loopback import Loopback

#: report(done, total, message): an MCP progress notification to the caller, if it asked
Report = Callable[[float, float | None, str | None], Awaitable[None]]


@dataclass(frozen=True)
class Call:
    """One tool call: the caller's view of the API, its arguments, where progress goes."""

    loopback: Loopback
    args: BaseModel
    report: Report
    #: how long a `wait: true` call follows its job (SPARK_MCP_WAIT_S)
    wait_s: float


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its name, what it takes and returns, what it does to the caller's data."""

    name: str
    description: str
    args: type[BaseModel]
    #: the structured content's model (None: the tool returns content blocks, an image)
    output: type[BaseModel] | None
    annotations: types.ToolAnnotations
    perform: Callable[[Call], Awaitable[types.CallToolResult]]

    def definition(self) -> types.Tool:
        """The tool as tools/list shows it."""
        return types.Tool(
            name=self.name,
            title=self.name.replace("_", " "),
            description=self.description,
            input_schema=self.args.model_json_schema(by_alias=True),
            output_schema=self.output.model_json_schema() if self.output else None,
            annotations=self.annotations,
        )

    def parse(self, arguments: Mapping[str, Any] | None) -> BaseModel:
        """The arguments checked against the input schema; ArgumentsInvalid if they fail."""
        try:
            return self.args.model_validate(dict(arguments or {}))
        except ValidationError as exc:
            raise ArgumentsInvalid(exc) from None


class ArgumentsInvalid(Exception):
    """A call's arguments do not fit the tool's input schema."""

    def __init__(self, exc: ValidationError) -> None:
        first = exc.errors(include_url=False)[0]
        self.field = ".".join(str(p) for p in first["loc"]) or "arguments"
        super().__init__(f"{self.field}: {first['msg']}")


class KindCall(BaseModel):
    """What a job tool takes besides the kind's params."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project_id: str | None = Field(default=None, description="the project the job works on")
    session_id: SessionId = Field(default="default", description="groups the job's events")
    priority: int = Field(default=5, ge=0, le=9, description="0 (lowest) to 9 (most urgent)")
    wait: bool = Field(
        default=False,
        description="follow the job, with progress notifications, and return it once it ends "
        "(up to the server's SPARK_MCP_WAIT_S); false returns it queued",
    )


#: a job tool's own arguments, kept apart from the kind's params when it is submitted
KIND_CALL_FIELDS = frozenset(KindCall.model_fields)


def kind_tool(
    spec: KindSpec, perform: Callable[[Call], Awaitable[types.CallToolResult]]
) -> ToolSpec:
    """The tool that submits a job of spec's kind: its params plus project_id, session_id,
    priority and wait, validated with the kind's own params model."""
    clash = KIND_CALL_FIELDS & set(spec.params.model_fields)
    if clash:  # a kind's params may never shadow the tool's own arguments
        raise ValueError(f"{spec.kind.value} params clash with the tool's {sorted(clash)}")
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in KindCall.model_fields.items()
    }
    args = create_model(f"{_camel(spec.kind.value)}Tool", __base__=spec.params, **fields)
    needs = " Needs project_id." if spec.needs_project else ""
    doc = " ".join((spec.params.__doc__ or spec.kind.value).split())
    return ToolSpec(
        name=spec.kind.value,
        description=f"Submit a {spec.kind.value} job: {doc}{needs} Needs the "
        f"{spec.permission.value} permission. Returns the job (its result once ended with wait).",
        args=args,
        output=JobOut,
        annotations=types.ToolAnnotations(
            title=spec.kind.value,
            read_only_hint=False,
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=False,
        ),
        perform=perform,
    )


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def split_kind_args(args: BaseModel) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(the submission's own fields, the kind's params as the caller gave them, wait)."""
    given = args.model_dump(mode="json", by_alias=True, exclude_unset=True)
    own = {k: v for k, v in given.items() if k in KIND_CALL_FIELDS and k != "wait"}
    params = {k: v for k, v in given.items() if k not in KIND_CALL_FIELDS}
    return own, params, bool(getattr(args, "wait", False))


@cache
def kind_specs() -> tuple[KindSpec, ...]:
    """The kinds this server runs, in the registry's order."""
    return tuple(available())
