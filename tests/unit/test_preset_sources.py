"""Preset scripts live as .cs package data: each parses, each is used, each is served unchanged."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path, PurePosixPath

import pytest

import spark.engines.unity
from spark.contracts.preset_params import ApplyPresetParams
from spark.engines.unity.csharp import check_syntax
from spark.engines.unity.presets import PRESETS, apply_preset

#: the package folder the presets' C# files live in, found here without the presets module
UNITY_PACKAGE = Path(spark.engines.unity.__file__).parent
SCRIPTS_DIR = UNITY_PACKAGE / "preset_scripts"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
SOURCE_FILES = sorted(SCRIPTS_DIR.rglob("*.cs"))


def _source_of(preset_id: str, project_path: str) -> Path:
    """The package file a preset's project file comes from: its folder, then the class's name."""
    return SCRIPTS_DIR / preset_id / PurePosixPath(project_path).name


def test_there_is_a_source_file_for_every_preset() -> None:
    """Every preset has its own folder of .cs files, so the checks below cover something."""
    assert {path.parent.name for path in SOURCE_FILES} == set(PRESETS)


@pytest.mark.parametrize(
    "source", SOURCE_FILES, ids=[str(p.relative_to(SCRIPTS_DIR)) for p in SOURCE_FILES]
)
def test_every_source_file_parses_as_csharp(source: Path) -> None:
    """Each .cs file on disk parses without a syntax error."""
    assert check_syntax(source.read_text(encoding="utf-8")) == ()


@pytest.mark.parametrize("preset_id", list(PRESETS))
def test_apply_preset_returns_each_source_file_byte_for_byte(preset_id: str) -> None:
    """Without a namespace every returned file's content and sha256 are those of its .cs file."""
    result = apply_preset(ApplyPresetParams(preset_id=preset_id), lambda _p, _m: None)
    assert result["files"]
    for entry in result["files"]:
        raw = _source_of(preset_id, entry["path"]).read_bytes()
        assert entry["content"].encode("utf-8") == raw, entry["path"]
        assert entry["sha256"] == hashlib.sha256(raw).hexdigest(), entry["path"]


def test_every_source_file_is_used_by_a_preset() -> None:
    """No .cs file under the presets' folder is orphaned, and none is used twice."""
    used = [_source_of(p.id, file.path) for p in PRESETS.values() for file in p.files]
    assert sorted(used) == SOURCE_FILES


def test_package_data_ships_every_csharp_file() -> None:
    """A non-editable install carries the .cs files only if a package-data glob names them."""
    package_data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]
    globs = [PurePosixPath(glob) for glob in package_data["spark.engines.unity"]]
    for source in sorted(UNITY_PACKAGE.rglob("*.cs")):
        relative = PurePosixPath(source.relative_to(UNITY_PACKAGE).as_posix())
        assert any(
            len(glob.parts) == len(relative.parts) and relative.match(str(glob)) for glob in globs
        ), relative
