"""Params of `apply_patch` and `render_preview` (CONTRACT §5), validated at the API."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from spark.contracts.params import Params, Verifiable
from spark.contracts.paths import MAX_CODE_BYTES, check_project_path

PatchType = Literal["replace", "insert_before", "insert_after", "unified_diff", "full"]

#: which text fields each patch type needs
_NEEDS: dict[str, tuple[str, ...]] = {
    "replace": ("old", "new"),
    "insert_before": ("anchor", "new"),
    "insert_after": ("anchor", "new"),
    "unified_diff": ("diff",),
    "full": ("content",),
}


class ApplyPatchParams(Verifiable):
    """`apply_patch`: edit one project file, optionally only if it is still at base_version."""

    path: str
    patch_type: PatchType
    old: str | None = Field(default=None, min_length=1, max_length=MAX_CODE_BYTES)
    new: str | None = Field(default=None, max_length=MAX_CODE_BYTES)
    anchor: str | None = Field(default=None, min_length=1, max_length=MAX_CODE_BYTES)
    diff: str | None = Field(default=None, max_length=MAX_CODE_BYTES)
    content: str | None = Field(default=None, max_length=MAX_CODE_BYTES)
    base_version: int | None = Field(default=None, ge=1)
    validate_syntax: bool = Field(default=True, alias="validate")

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        return check_project_path(value)

    @model_validator(mode="after")
    def _has_what_the_type_needs(self) -> Self:
        missing = [name for name in _NEEDS[self.patch_type] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.patch_type} needs {', '.join(missing)}")
        return self


class RenderPreviewParams(Params):
    """`render_preview`: a frame from the Unity editor at the given size."""

    width: int = Field(ge=1, le=4096)
    height: int = Field(ge=1, le=4096)
    scene: str | None = Field(default=None, max_length=512)
    camera: str | None = Field(default=None, max_length=256)
    format: Literal["png", "jpg"] = "png"

    @field_validator("scene")
    @classmethod
    def _scene_in_assets(cls, value: str | None) -> str | None:
        # The editor opens whatever path it is given; only the project's scenes are allowed.
        return None if value is None else check_project_path(value, suffix=".unity")
