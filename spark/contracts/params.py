"""Per-kind job params, validated at the API; a bad field is a 422 naming it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from spark.contracts.paths import check_project_path

ClassName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z0-9_]*$", max_length=128)]
Namespace = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$", max_length=256),
]
BaseClass = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$", max_length=256
    ),
]


class Params(BaseModel):
    """Base for every kind's params: unknown fields are rejected, so typos surface."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def project_needed(self) -> tuple[str, str] | None:
        """(field, why) when these params only make sense with the job's project, else None;
        the params alone cannot tell, as the project is named beside them."""
        return None


class GenerateScriptParams(Params):
    """`generate_script`: write a Unity C# script from a prompt."""

    prompt: str = Field(min_length=10, max_length=10_000)
    class_name: ClassName | None = None
    namespace: Namespace | None = None
    base_class: BaseClass = "MonoBehaviour"
    path: str | None = None
    reasoning: Literal["creative", "deterministic"] = "deterministic"
    include_comments: bool = True
    write_to_project: bool = False

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str | None) -> str | None:
        return None if value is None else check_project_path(value, suffix=".cs")
