"""The MCP tool catalog: one tool per job kind the registry declares (so a new kind is a new
tool with no MCP code), and the fixed tools over jobs, files, presets and usage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import mcp_types as types
from pydantic import BaseModel, ValidationError

from spark.contracts.jobs import JobOut
from spark.contracts.tools import kind_tool_schema
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


def kind_tool(
    spec: KindSpec, perform: Callable[[Call], Awaitable[types.CallToolResult]]
) -> ToolSpec:
    """The tool that submits a job of spec's kind (spark/contracts/tools.py: its params plus
    project_id, session_id, priority and wait, validated with the kind's own params model)."""
    schema = kind_tool_schema(spec)
    return ToolSpec(
        name=schema.name,
        description=schema.description,
        args=schema.args,
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


@cache
def kind_specs() -> tuple[KindSpec, ...]:
    """The kinds this server runs, in the registry's order."""
    return tuple(available())
