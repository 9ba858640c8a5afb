"""Params of `generate_asset` and `export_package`; a bad field is a 422 naming it."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from spark.contracts.params import Params, Verifiable
from spark.contracts.paths import MAX_CODE_BYTES, check_project_path
from spark.domain.globs import is_glob

#: components a generated prefab's root GameObject can carry
ComponentKind = Literal[
    "BoxCollider",
    "Rigidbody",
    "MeshFilter",
    "MeshRenderer",
    "SpriteRenderer",
    "BoxCollider2D",
    "Rigidbody2D",
]
#: built-in shaders a generated material can use
ShaderName = Literal["Standard", "Sprites/Default", "Unlit/Color"]

MAX_PACKAGE_BYTES = 1024 * 1024
MAX_PACKAGE_PATHS = 200
_SUFFIXES = {"prefab": ".prefab", "material": ".mat"}
# Unity lets a GameObject hold one Renderer, and 2D and 3D physics never mix on one object.
_RENDERERS = frozenset({"MeshRenderer", "SpriteRenderer"})
_PHYSICS_3D = frozenset({"BoxCollider", "Rigidbody"})
_PHYSICS_2D = frozenset({"BoxCollider2D", "Rigidbody2D"})
_META_GUID = re.compile(r"^guid:[ \t]*[0-9a-f]{32}[ \t]*$", re.MULTILINE)

AssetName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_ -]{0,63}$")]
PackageName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
Guid = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]


def _assets_path(value: str) -> str:
    """A project path under Assets/ that passes the guardrails."""
    return check_project_path(value, roots=("Assets/",))


AssetsPath = Annotated[str, AfterValidator(_assets_path)]


def _asset_type(info: ValidationInfo) -> str | None:
    """The asset_type already validated, or None when it was missing or invalid."""
    value = info.data.get("asset_type")
    return value if isinstance(value, str) else None


def _default(model: type[BaseModel], info: ValidationInfo) -> object:
    field = model.model_fields[info.field_name] if info.field_name else None
    return field.get_default(call_default_factory=True) if field is not None else None


def _only_for(asset_type: str, info: ValidationInfo, value: object, default: object) -> None:
    """Refuse a field set for the other asset type, so typos do not pass silently.

    Its default value is accepted: stored params carry every field, and must validate again.
    """
    given = _asset_type(info)
    if given is not None and given != asset_type and value != default:
        raise ValueError(f"only applies when asset_type is '{asset_type}'")


class GenerateAssetParams(Verifiable):
    """`generate_asset`: write a prefab or a material, with its .meta file."""

    asset_type: Literal["prefab", "material"]
    name: AssetName
    path: str
    # prefab fields
    components: list[ComponentKind] = Field(default_factory=list, max_length=7)
    material_guid: Guid | None = None
    # material fields
    shader: ShaderName = "Standard"
    color: tuple[Unit, Unit, Unit, Unit] = (1.0, 1.0, 1.0, 1.0)
    metallic: Unit = 0.0
    smoothness: Unit = 0.5

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str, info: ValidationInfo) -> str:
        asset_type = _asset_type(info)
        suffix = _SUFFIXES[asset_type] if asset_type else ""
        return check_project_path(value, roots=("Assets/",), suffix=suffix)

    @field_validator("components")
    @classmethod
    def _check_components(cls, value: list[str], info: ValidationInfo) -> list[str]:
        _only_for("prefab", info, value, _default(cls, info))
        if len(set(value)) != len(value):
            raise ValueError("each component may appear once")
        if len(_RENDERERS.intersection(value)) > 1:
            raise ValueError("a GameObject holds one renderer: MeshRenderer or SpriteRenderer")
        if _PHYSICS_3D.intersection(value) and _PHYSICS_2D.intersection(value):
            raise ValueError("2D and 3D physics components cannot share a GameObject")
        return value

    @field_validator("material_guid")
    @classmethod
    def _check_material_guid(cls, value: str | None, info: ValidationInfo) -> str | None:
        _only_for("prefab", info, value, _default(cls, info))
        components = info.data.get("components")
        if value is not None and components is not None and not _RENDERERS & set(components):
            raise ValueError("needs a MeshRenderer or SpriteRenderer in components")
        return value

    @field_validator("shader", "color", "metallic", "smoothness")
    @classmethod
    def _check_material_field(cls, value: object, info: ValidationInfo) -> object:
        _only_for("material", info, value, _default(cls, info))
        return value


class PackageFile(Params):
    """A file to pack: its project path and its text content."""

    path: AssetsPath
    content: str

    @field_validator("content")
    @classmethod
    def _check_content(cls, value: str, info: ValidationInfo) -> str:
        if len(value.encode()) > MAX_CODE_BYTES:
            raise ValueError(f"must be at most {MAX_CODE_BYTES // 1024} KB")
        path = info.data.get("path")
        if isinstance(path, str) and path.endswith(".meta") and not _META_GUID.search(value):
            raise ValueError("a .meta file needs a `guid: <32 lowercase hex>` line")
        return value


class ExportPackageParams(Params):
    """`export_package`: pack project files into an importable .unitypackage.

    Each of `paths` is a file given in `files`, or else names the project's current files:
    one path exactly, or a glob (`Assets/Scripts/**/*.cs`; see spark.domain.globs).
    """

    name: PackageName = "export"
    # Declared before `paths` so the `paths` check can see which contents arrived.
    files: list[PackageFile] = Field(default_factory=list, max_length=2 * MAX_PACKAGE_PATHS)
    paths: list[AssetsPath] = Field(min_length=1, max_length=MAX_PACKAGE_PATHS)

    @field_validator("files")
    @classmethod
    def _check_files(cls, value: list[PackageFile]) -> list[PackageFile]:
        names = [f.path for f in value]
        if len(set(names)) != len(names):
            raise ValueError("each path may appear once")
        if sum(len(f.content.encode()) for f in value) > MAX_PACKAGE_BYTES:
            raise ValueError(f"contents must total at most {MAX_PACKAGE_BYTES // 1024} KB")
        return value

    @field_validator("paths")
    @classmethod
    def _check_paths(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each path may appear once")
        files = info.data.get("files")
        if files is None:
            return value  # `files` was invalid and has its own error
        given = {f.path for f in files}
        listed = set(value)
        for path in value:
            exact_meta = path.endswith(".meta") and not is_glob(path)
            if exact_meta and path.removesuffix(".meta") not in listed:
                raise ValueError(f"{path} is listed without its asset")
        for path in sorted(given - listed):
            if path.removesuffix(".meta") not in listed:
                raise ValueError(f"files has {path}, which paths does not list")
        return value

    def from_project(self) -> list[str]:
        """The paths and globs that name project files rather than files given inline."""
        given = {f.path for f in self.files}
        return [path for path in self.paths if path not in given]

    def project_needed(self) -> tuple[str, str] | None:
        wanted = self.from_project()
        if not wanted:
            return None
        return "paths", f"{wanted[0]} has no content in files, so it names project files"
