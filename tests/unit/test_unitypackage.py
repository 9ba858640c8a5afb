"""`.unitypackage` export: a gzip tar of `<guid>/asset`, `asset.meta`, `pathname` per file."""

from __future__ import annotations

import hashlib
import io
import tarfile
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from spark.contracts.asset_params import ExportPackageParams, GenerateAssetParams
from spark.engines.unity.assets import generate_asset, meta_file
from spark.engines.unity.package import build_unitypackage, export_package
from spark.engines.unity.unity_yaml import stable_guid
from spark.errors import JobFailure

SCRIPT_PATH = "Assets/Scripts/Spinner.cs"
SCRIPT = "using UnityEngine;\n\npublic class Spinner : MonoBehaviour\n{\n}\n"
PREFAB_PATH = "Assets/Prefabs/Crate.prefab"
MATERIAL_PATH = "Assets/Materials/Crate.mat"
# The prefab's .meta keeps a GUID of its own, as if Unity had created it long ago.
PREFAB_GUID = "0123456789abcdef0123456789abcdef"


def _generated(**fields: Any) -> dict[str, str]:
    """Generated asset files by path."""
    result = generate_asset(GenerateAssetParams.model_validate(fields), lambda *_: None)
    return {f["path"]: f["content"] for f in result["files"]}


@pytest.fixture(scope="module")
def files() -> list[tuple[str, str]]:
    """A script, a prefab with its own .meta, and a material without one."""
    material = _generated(asset_type="material", name="Crate", path=MATERIAL_PATH)
    prefab = _generated(
        asset_type="prefab",
        name="Crate",
        path=PREFAB_PATH,
        components=["MeshFilter", "MeshRenderer"],
        material_guid=stable_guid(MATERIAL_PATH),
    )
    return [
        (SCRIPT_PATH, SCRIPT),
        (PREFAB_PATH, prefab[PREFAB_PATH]),
        (f"{PREFAB_PATH}.meta", meta_file(PREFAB_GUID, "PrefabImporter")),
        (MATERIAL_PATH, material[MATERIAL_PATH]),
    ]


def unpack(data: bytes) -> dict[str, bytes]:
    """Every member of the package by name; all must be regular files."""
    members: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            assert member.isfile(), f"{member.name} is not a regular file"
            extracted = archive.extractfile(member)
            assert extracted is not None
            members[member.name] = extracted.read()
    return members


def by_path(members: dict[str, bytes]) -> dict[str, tuple[str, bytes, dict[str, Any]]]:
    """Each packed file's (GUID, asset bytes, parsed .meta), keyed by its pathname."""
    guids = {name.split("/")[0] for name in members}
    return {
        members[f"{g}/pathname"].decode(): (
            g,
            members[f"{g}/asset"],
            yaml.safe_load(members[f"{g}/asset.meta"]),
        )
        for g in guids
    }


def test_members_are_asset_meta_and_pathname_per_file(files: list[tuple[str, str]]) -> None:
    """Three files become exactly three members each; the .meta input is not its own entry."""
    members = unpack(build_unitypackage(files))
    guids = {name.split("/")[0] for name in members}
    assert len(guids) == 3
    expected = {f"{g}/{leaf}" for g in guids for leaf in ("asset", "asset.meta", "pathname")}
    assert set(members) == expected


def test_each_entry_holds_its_path_content_and_matching_guid(files: list[tuple[str, str]]) -> None:
    """pathname is the project path; asset is the content; asset.meta's GUID names the folder."""
    members = unpack(build_unitypackage(files))
    packed = by_path(members)
    assert set(packed) == {SCRIPT_PATH, PREFAB_PATH, MATERIAL_PATH}
    contents = dict(files)
    for path, (guid, asset, meta) in packed.items():
        assert asset == contents[path].encode()
        assert meta["guid"] == guid and meta["fileFormatVersion"] == 2
        assert members[f"{guid}/pathname"] == path.encode(), "no trailing newline"


def test_given_meta_keeps_its_guid_and_others_get_stable_ones(
    files: list[tuple[str, str]],
) -> None:
    """The prefab keeps its .meta's GUID; files without one get the path's stable GUID."""
    packed = by_path(unpack(build_unitypackage(files)))
    assert packed[PREFAB_PATH][0] == PREFAB_GUID
    assert packed[MATERIAL_PATH][0] == stable_guid(MATERIAL_PATH)
    assert "MonoImporter" in packed[SCRIPT_PATH][2]
    assert packed[MATERIAL_PATH][2]["NativeFormatImporter"]["mainObjectFileID"] == 2100000


def test_guid_for_chooses_guids_of_files_without_meta(files: list[tuple[str, str]]) -> None:
    """A caller's guid_for decides the GUID of files that come without a .meta."""
    packed = by_path(unpack(build_unitypackage(files, guid_for=lambda p: stable_guid("x", p))))
    assert packed[SCRIPT_PATH][0] == stable_guid("x", SCRIPT_PATH)
    assert packed[PREFAB_PATH][0] == PREFAB_GUID


def test_same_input_gives_identical_bytes(files: list[tuple[str, str]]) -> None:
    """Fixed mtimes and sorted members: same files, in any order, give the same bytes."""
    data = build_unitypackage(files)
    assert data == build_unitypackage(files)
    assert data == build_unitypackage(list(reversed(files)))
    assert data[4:8] == b"\0\0\0\0", "the gzip header carries no timestamp"
    names = list(unpack(data))
    assert names == sorted(names)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([("Assets/A.cs", "x"), ("Assets/B.cs.meta", "guid: " + "a" * 32)], "without its asset"),
        ([("Assets/A.cs", "x"), ("Assets/A.cs", "y")], "more than once"),
        ([("Assets/A.cs", "x"), ("Assets/A.cs.meta", "fileFormatVersion: 2\n")], "guid"),
        (
            [
                ("Assets/A.cs", "x"),
                ("Assets/A.cs.meta", f"guid: {PREFAB_GUID}\n"),
                ("Assets/B.cs", "y"),
                ("Assets/B.cs.meta", f"guid: {PREFAB_GUID}\n"),
            ],
            "share a GUID",
        ),
    ],
)
def test_inconsistent_input_is_refused(bad: list[tuple[str, str]], message: str) -> None:
    """Orphan or GUID-less .meta files, repeated paths and shared GUIDs are errors."""
    with pytest.raises(ValueError, match=message):
        build_unitypackage(bad)


def _export_params(files: list[tuple[str, str]], **fields: Any) -> ExportPackageParams:
    payload = [{"path": p, "content": c} for p, c in files]
    return ExportPackageParams.model_validate({"files": payload, **fields})


def test_export_package_describes_the_artifact(files: list[tuple[str, str]]) -> None:
    """The result names the artifact and every file's GUID; size and sha256 match the bytes."""
    paths = [SCRIPT_PATH, PREFAB_PATH, MATERIAL_PATH]  # the prefab's .meta comes along unlisted
    progress: list[int] = []
    params = _export_params(files, paths=paths, name="Crates")
    result, data = export_package(params, lambda percent, _message: progress.append(percent))
    assert result["artifact"] == "Crates.unitypackage"
    assert result["size"] == len(data)
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert {f["path"]: f["guid"] for f in result["files"]} == {
        SCRIPT_PATH: stable_guid(SCRIPT_PATH),
        PREFAB_PATH: PREFAB_GUID,
        MATERIAL_PATH: stable_guid(MATERIAL_PATH),
    }
    assert data == build_unitypackage(files)
    assert progress == sorted(progress) and progress


def test_export_package_fails_the_job_on_an_inconsistent_package() -> None:
    """Two files claiming one GUID fail the job with a code, not a crash."""
    twins = [
        ("Assets/A.cs", "x"),
        ("Assets/A.cs.meta", f"guid: {PREFAB_GUID}\n"),
        ("Assets/B.cs", "y"),
        ("Assets/B.cs.meta", f"guid: {PREFAB_GUID}\n"),
    ]
    params = _export_params(twins, paths=["Assets/A.cs", "Assets/B.cs"])
    with pytest.raises(JobFailure) as caught:
        export_package(params, lambda *_: None)
    assert caught.value.failure_code == "invalid_package"


def _export_error_locs(fields: dict[str, Any]) -> list[tuple[int | str, ...]]:
    with pytest.raises(ValidationError) as caught:
        ExportPackageParams.model_validate(fields)
    return [error["loc"] for error in caught.value.errors()]


A = {"path": "Assets/A.cs", "content": "class A {}"}


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"paths": []}, ("paths",)),
        ({"paths": ["Assets/A.cs", "Assets/A.cs"], "files": [A]}, ("paths",)),
        ({"paths": ["Assets/../A.cs"], "files": [A]}, ("paths", 0)),
        ({"paths": ["Assets/A.cs", "/etc/passwd"], "files": [A]}, ("paths", 1)),
        ({"paths": ["Assets/A.cs"] * 201, "files": [A]}, ("paths",)),
        ({"paths": ["Assets/A.cs"], "files": [A, A]}, ("files",)),
        (
            {"paths": ["Assets/A.cs"], "files": [{**A, "path": "Uploads/A.cs"}]},
            ("files", 0, "path"),
        ),
        (
            {"paths": ["Assets/A.cs"], "files": [{**A, "content": "x" * 204_801}]},
            ("files", 0, "content"),
        ),
        (
            {"paths": ["Assets/A.cs"], "files": [A, {"path": "Assets/A.cs.meta", "content": "x"}]},
            ("files", 1, "content"),
        ),
        ({"paths": ["Assets/A.cs"], "files": [A, {**A, "path": "Assets/B.cs"}]}, ("paths",)),
        (
            {
                "paths": ["Assets/B.cs.meta"],
                "files": [{"path": "Assets/B.cs.meta", "content": f"guid: {PREFAB_GUID}"}],
            },
            ("paths",),
        ),
        ({"paths": ["Assets/A.cs"], "files": [A], "name": "my package"}, ("name",)),
    ],
)
def test_invalid_export_params_name_the_field(
    fields: dict[str, Any], loc: tuple[int | str, ...]
) -> None:
    """Duplicates, unsafe paths, oversize files and stray .meta files are 422s naming the field."""
    assert loc in _export_error_locs(fields)


def test_paths_without_inline_content_name_project_files_and_need_a_project() -> None:
    """A path or glob not given in files is read from the project: the params say they need one."""
    inline = ExportPackageParams.model_validate({"paths": ["Assets/A.cs"], "files": [A]})
    assert inline.from_project() == [] and inline.project_needed() is None
    mixed = ExportPackageParams.model_validate(
        {"paths": ["Assets/A.cs", "Assets/Scripts/**/*.cs", "Assets/B.prefab"], "files": [A]}
    )
    assert mixed.from_project() == ["Assets/Scripts/**/*.cs", "Assets/B.prefab"]
    needed = mixed.project_needed()
    assert needed is not None and needed[0] == "paths" and "Assets/Scripts/**/*.cs" in needed[1]


def test_export_contents_are_limited_to_one_megabyte_in_total() -> None:
    """Six files under 200 KB each still exceed the 1 MB total."""
    big = [{"path": f"Assets/F{i}.txt", "content": "x" * 200_000} for i in range(6)]
    assert ("files",) in _export_error_locs({"paths": [f["path"] for f in big], "files": big})
