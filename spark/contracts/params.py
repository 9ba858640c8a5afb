"""Per-kind job params, validated at the API; a bad field is a 422 naming it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from spark.contracts.paths import check_project_path
from spark.domain.targets import BuildTarget

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


class Verify(BaseModel):
    """`verify`: prove a job's writes on the farm, each step a child job, in this order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: a `compile_check` of the project with the job's files
    compile: bool = False
    #: a `run_tests` of this platform's tests
    tests: Literal["EditMode", "PlayMode"] | None = None
    #: a `unity_build` for this target
    build: BuildTarget | None = None
    #: keep the writes when a step fails (the job still fails `verification_failed`)
    keep_on_failure: bool = False

    @property
    def any(self) -> bool:
        """Whether any step was asked for (all off: nothing to verify)."""
        return self.compile or self.tests is not None or self.build is not None

    @classmethod
    def asked_in(cls, params: Mapping[str, Any]) -> Verify | None:
        """The `verify` a job's stored params ask for, when it names at least one step."""
        raw = params.get("verify")
        if not isinstance(raw, Mapping):
            return None
        plan = cls.model_validate(raw)
        return plan if plan.any else None


class Verifiable(Params):
    """Params of a kind that writes into a project and can prove the write (CONTRACT §5)."""

    verify: Verify | None = None

    def project_needed(self) -> tuple[str, str] | None:
        if self.verify is not None and self.verify.any:
            return "verify", "the steps verify the project's files"
        return None


class GenerateScriptParams(Verifiable):
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

    @model_validator(mode="after")
    def _verify_needs_a_write(self) -> Self:
        if self.verify is not None and self.verify.any and not self.write_to_project:
            raise ValueError("verify proves what the job writes: it needs write_to_project")
        return self
