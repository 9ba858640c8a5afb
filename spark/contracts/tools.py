"""SPARK's tools as a model sees them, derived from the kind registry: one per kind, its
arguments the kind's params plus where and how the job runs.

`/mcp` serves these (spark/web/mcp/catalog.py) and an `assist` job offers the same to its
LLM (spark/handlers/assist.py), so a kind added to the registry is a tool in both at once.
The registry sits above this module, so a kind is read through the facts it needs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, create_model

from spark.contracts.jobs import SessionId
from spark.domain.jobs import JobKind
from spark.domain.principals import Permission


class DeclaredKind(Protocol):
    """The facts of a kind declaration (spark.kinds.KindSpec) a tool is made from."""

    @property
    def kind(self) -> JobKind: ...

    @property
    def params(self) -> type[BaseModel]: ...

    @property
    def permission(self) -> Permission: ...

    @property
    def needs_project(self) -> bool: ...


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


@dataclass(frozen=True)
class ToolSchema:
    """One tool's name, what it is for, and the model its arguments are checked with."""

    name: str
    description: str
    args: type[BaseModel]

    def input_schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments (by alias, as callers name them)."""
        return self.args.model_json_schema(by_alias=True)

    def function(self) -> dict[str, Any]:
        """The tool as an OpenAI-compatible `tools` entry."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.input_schema(),
            },
        }


@cache
def kind_tool_schema(spec: DeclaredKind) -> ToolSchema:
    """The tool that submits a job of spec's kind: its params plus project_id, session_id,
    priority and wait."""
    clash = KIND_CALL_FIELDS & set(spec.params.model_fields)
    if clash:  # a kind's params may never shadow the tool's own arguments
        raise ValueError(f"{spec.kind.value} params clash with the tool's {sorted(clash)}")
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in KindCall.model_fields.items()
    }
    args = create_model(f"{_camel(spec.kind.value)}Tool", __base__=spec.params, **fields)
    needs = " Needs project_id." if spec.needs_project else ""
    doc = " ".join((spec.params.__doc__ or spec.kind.value).split())
    return ToolSchema(
        name=spec.kind.value,
        description=f"Submit a {spec.kind.value} job: {doc}{needs} Needs the "
        f"{spec.permission.value} permission. Returns the job (its result once ended with wait).",
        args=args,
    )


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def split_kind_args(args: BaseModel) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(the submission's own fields, the kind's params as the caller gave them, wait)."""
    given = args.model_dump(mode="json", by_alias=True, exclude_unset=True)
    own = {k: v for k, v in given.items() if k in KIND_CALL_FIELDS and k != "wait"}
    params = {k: v for k, v in given.items() if k not in KIND_CALL_FIELDS}
    return own, params, bool(getattr(args, "wait", False))


class ReadFileArgs(BaseModel):
    """read_file: a project file's content and version (the newest, or `version`)."""

    model_config = ConfigDict(extra="forbid")

    project_id: str | None = Field(default=None, description="the project (default: the job's)")
    path: str = Field(min_length=1, max_length=1024, description="e.g. Assets/Scripts/Player.cs")
    version: int | None = Field(default=None, ge=1)


#: the read tools an assist job answers itself, without a job
READ_FILE = ToolSchema(
    "read_file", "A project file's content and version (the newest, or `version`).", ReadFileArgs
)


def arguments_of(raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """A tool call's arguments as a dict; ValueError when they are not a JSON object."""
    if raw is None or raw == "":
        return {}
    found = json.loads(raw) if isinstance(raw, str) else dict(raw)
    if not isinstance(found, dict):
        raise ValueError("the arguments are not a JSON object")
    return found
