"""Unity prefab, material and .meta YAML, read back with a loader that knows Unity's tags."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from spark.contracts.asset_params import GenerateAssetParams
from spark.engines.unity.assets import (
    COMPONENT_KINDS,
    ComponentSpec,
    generate_asset,
    material_yaml,
    meta_file,
    prefab_yaml,
    stable_guid,
)
from spark.engines.unity.unity_yaml import meta_for_path

UNITY_TAG = "tag:unity3d.com,2011:"
DIRECTIVES = ["%YAML 1.1", f"%TAG !u! {UNITY_TAG}"]
# `&<fileID>` is a YAML anchor; `stripped` (prefab instances in scenes) is Unity's own suffix.
DOCUMENT_HEADER = re.compile(r"^--- !u!(\d+) &(-?\d+)( stripped)?$")
BUILTIN = "0000000000000000f000000000000000"
MATERIAL_GUID = stable_guid("Assets/Materials/Crate.mat")


class UnityLoader(yaml.SafeLoader):
    """PyYAML's safe loader plus a constructor for Unity's `!u!<classID>` tags."""


def _construct_unity_object(
    loader: yaml.SafeLoader, class_id: str, node: yaml.MappingNode
) -> tuple[int, dict[Any, Any]]:
    """A tagged document becomes (classID, its mapping)."""
    return int(class_id), loader.construct_mapping(node, deep=True)


UnityLoader.add_multi_constructor(UNITY_TAG, _construct_unity_object)


@dataclass(frozen=True)
class UnityObject:
    """One document of a Unity text asset."""

    class_id: int
    file_id: int
    class_name: str
    fields: dict[str, Any]
    stripped: bool = False


def load_unity_yaml(text: str) -> list[UnityObject]:
    """Parse a Unity text asset document by document with PyYAML."""
    lines = text.splitlines()
    assert lines[:2] == DIRECTIVES, "a Unity asset starts with the %YAML and %TAG directives"
    documents: list[list[str]] = []
    for line in lines[2:]:
        if line.startswith("--- "):
            documents.append([line])
        else:
            assert documents, "content before the first document"
            documents[-1].append(line)
    return [_load_document(header, body) for header, *body in documents]


def _load_document(header: str, body: list[str]) -> UnityObject:
    """One document; the %TAG directive is repeated because YAML scopes it to one document."""
    match = DOCUMENT_HEADER.match(header)
    assert match, f"not a Unity document header: {header!r}"
    class_id, file_id = int(match[1]), int(match[2])
    source = "\n".join([*DIRECTIVES, f"--- !u!{class_id} &{file_id}", *body])
    tagged_class, mapping = yaml.load(source, Loader=UnityLoader)  # a SafeLoader subclass
    assert tagged_class == class_id
    ((class_name, fields),) = mapping.items()
    return UnityObject(class_id, file_id, class_name, fields, bool(match[3]))


def load_meta(text: str) -> dict[str, Any]:
    """A .meta file is plain YAML."""
    meta = yaml.safe_load(text)
    assert isinstance(meta, dict)
    return meta


THREE_D = ("BoxCollider", "Rigidbody", "MeshFilter", "MeshRenderer")
TWO_D = ("SpriteRenderer", "BoxCollider2D", "Rigidbody2D")
CLASS_IDS = {
    "GameObject": 1,
    "Transform": 4,
    "BoxCollider": 65,
    "Rigidbody": 54,
    "MeshFilter": 33,
    "MeshRenderer": 23,
    "SpriteRenderer": 212,
    "BoxCollider2D": 61,
    "Rigidbody2D": 50,
}


def _prefab(kinds: tuple[str, ...], material_guid: str | None = None) -> list[UnityObject]:
    specs = [
        ComponentSpec(kind, material_guid if kind.endswith("Renderer") else None)  # type: ignore[arg-type]
        for kind in kinds
    ]
    return load_unity_yaml(prefab_yaml("Crate", specs, seed="Assets/Prefabs/Crate.prefab"))


@pytest.mark.parametrize("kinds", [THREE_D, TWO_D, ()])
def test_prefab_components_are_all_defined_and_owned_by_the_game_object(
    kinds: tuple[str, ...],
) -> None:
    """m_Component lists exactly the other objects, each pointing back at the GameObject."""
    objects = _prefab(kinds)
    game_object, *components = objects
    assert game_object.class_name == "GameObject" and game_object.fields["m_Name"] == "Crate"
    assert [c.class_name for c in components] == ["Transform", *kinds]
    listed = [entry["component"]["fileID"] for entry in game_object.fields["m_Component"]]
    assert listed == [c.file_id for c in components]
    assert len({o.file_id for o in objects}) == len(objects), "fileIDs are unique in the file"
    for component in components:
        assert component.fields["m_GameObject"] == {"fileID": game_object.file_id}
    for obj in objects:
        assert obj.class_id == CLASS_IDS[obj.class_name]


def test_every_component_kind_is_supported() -> None:
    """The 3D and 2D sets together cover every component the params accept."""
    assert set(THREE_D) | set(TWO_D) == set(COMPONENT_KINDS)


def test_root_transform_has_no_father_and_identity_pose() -> None:
    """The prefab's root sits at the origin, unrotated, at unit scale."""
    transform = _prefab(())[1].fields
    assert transform["m_Father"] == {"fileID": 0} and transform["m_Children"] == []
    assert transform["m_LocalRotation"] == {"x": 0, "y": 0, "z": 0, "w": 1}
    assert transform["m_LocalScale"] == {"x": 1, "y": 1, "z": 1}


@pytest.mark.parametrize("renderer", ["MeshRenderer", "SpriteRenderer"])
def test_renderer_references_the_material_by_guid(renderer: str) -> None:
    """A renderer's material slot names the material file's main object and GUID."""
    objects = _prefab((renderer,), material_guid=MATERIAL_GUID)
    (found,) = [o for o in objects if o.class_name == renderer]
    assert found.fields["m_Materials"] == [{"fileID": 2100000, "guid": MATERIAL_GUID, "type": 2}]


@pytest.mark.parametrize(
    ("renderer", "file_id"), [("MeshRenderer", 10303), ("SpriteRenderer", 10754)]
)
def test_renderer_without_material_uses_the_builtin_default(renderer: str, file_id: int) -> None:
    """Without a material GUID a renderer draws with Unity's built-in default material."""
    (found,) = [o for o in _prefab((renderer,)) if o.class_name == renderer]
    assert found.fields["m_Materials"] == [{"fileID": file_id, "guid": BUILTIN, "type": 0}]


def test_prefab_file_ids_are_stable_per_seed_and_differ_across_seeds() -> None:
    """Regenerating the same prefab gives the same text; another path gives other fileIDs."""
    specs = [ComponentSpec("BoxCollider")]
    first = prefab_yaml("Crate", specs, seed="Assets/A.prefab")
    assert first == prefab_yaml("Crate", specs, seed="Assets/A.prefab")
    other = load_unity_yaml(prefab_yaml("Crate", specs, seed="Assets/B.prefab"))
    assert {o.file_id for o in load_unity_yaml(first)}.isdisjoint({o.file_id for o in other})


def test_component_spec_refuses_a_material_on_a_non_renderer() -> None:
    """Only renderers have a material slot."""
    with pytest.raises(ValueError, match="takes no material"):
        ComponentSpec("BoxCollider", MATERIAL_GUID)


@pytest.mark.parametrize(
    ("shader", "file_id"), [("Standard", 46), ("Sprites/Default", 10753), ("Unlit/Color", 10755)]
)
def test_material_uses_the_builtin_shader(shader: str, file_id: int) -> None:
    """The material is one !u!21 object with fileID 2100000 on the chosen built-in shader."""
    (material,) = load_unity_yaml(material_yaml("Crate", shader, (1, 0.5, 0.25, 1)))  # type: ignore[arg-type]
    assert (material.class_id, material.file_id, material.class_name) == (21, 2100000, "Material")
    assert material.fields["m_Shader"] == {"fileID": file_id, "guid": BUILTIN, "type": 0}
    colors = dict(
        kv for entry in material.fields["m_SavedProperties"]["m_Colors"] for kv in entry.items()
    )
    assert colors["_Color"] == {"r": 1, "g": 0.5, "b": 0.25, "a": 1}


def test_standard_material_saves_metallic_and_smoothness() -> None:
    """m_Floats holds _Metallic and _Glossiness; m_TexEnvs holds an empty _MainTex slot."""
    text = material_yaml("Steel", "Standard", (0.2, 0.2, 0.2, 1), metallic=0.9, smoothness=0.75)
    saved = load_unity_yaml(text)[0].fields["m_SavedProperties"]
    floats = dict(kv for entry in saved["m_Floats"] for kv in entry.items())
    assert floats["_Metallic"] == 0.9 and floats["_Glossiness"] == 0.75
    textures = dict(kv for entry in saved["m_TexEnvs"] for kv in entry.items())
    assert textures["_MainTex"]["m_Texture"] == {"fileID": 0}
    assert list(floats) == sorted(floats), "the editor writes properties sorted by name"


@pytest.mark.parametrize("name", ["Yes", "no", "Crate ", "null"])
def test_names_yaml_would_misread_are_quoted(name: str) -> None:
    """A name such as 'Yes' or one with a trailing space reads back as the same string."""
    (material,) = load_unity_yaml(material_yaml(name, "Standard", (1, 1, 1, 1)))
    assert material.fields["m_Name"] == name


@pytest.mark.parametrize(
    ("path", "importer", "main_object"),
    [
        ("Assets/Prefabs/Crate.prefab", "PrefabImporter", None),
        ("Assets/Materials/Crate.mat", "NativeFormatImporter", 2100000),
        ("Assets/Scripts/Player.cs", "MonoImporter", None),
        ("Assets/Docs/readme.txt", "DefaultImporter", None),
    ],
)
def test_meta_files_parse_and_carry_the_guid(
    path: str, importer: str, main_object: int | None
) -> None:
    """Each .meta has format version 2, the asset's GUID and the importer for its suffix."""
    guid = stable_guid(path)
    meta = load_meta(meta_for_path(path, guid))
    assert meta["fileFormatVersion"] == 2 and meta["guid"] == guid
    assert list(meta)[2] == importer
    assert meta[importer].get("mainObjectFileID") == main_object


def test_meta_file_supports_the_legacy_prefab_importer() -> None:
    """Before Unity 2018.3 prefabs used NativeFormatImporter with main object 100100000."""
    guid = stable_guid("Assets/Old.prefab")
    meta = load_meta(meta_file(guid, "NativeFormatImporter", main_object_file_id=100100000))
    assert meta["NativeFormatImporter"]["mainObjectFileID"] == 100100000


@pytest.mark.parametrize(
    ("guid", "importer", "message"),
    [("XYZ", "DefaultImporter", "GUID"), ("a" * 32, "TextureImporter", "unknown importer")],
)
def test_meta_file_refuses_bad_input(guid: str, importer: str, message: str) -> None:
    """A malformed GUID or an importer it cannot write is an error, not a broken .meta."""
    with pytest.raises(ValueError, match=message):
        meta_file(guid, importer)


def test_stable_guid_is_stable_and_differs_across_paths() -> None:
    """Same parts, same GUID; another path, another GUID; always 32 lowercase hex."""
    guid = stable_guid("Assets/Prefabs/Crate.prefab")
    assert guid == stable_guid("Assets/Prefabs/Crate.prefab")
    assert guid != stable_guid("Assets/Prefabs/Barrel.prefab")
    assert re.fullmatch(r"[0-9a-f]{32}", guid)


def _params(**fields: Any) -> GenerateAssetParams:
    return GenerateAssetParams.model_validate(fields)


def test_generate_prefab_returns_the_asset_and_its_meta() -> None:
    """The result names the path and GUID; the prefab's renderer uses the given material."""
    progress: list[int] = []
    params = _params(
        asset_type="prefab",
        name="Crate",
        path="Assets/Prefabs/Crate.prefab",
        components=["MeshFilter", "MeshRenderer", "BoxCollider"],
        material_guid=MATERIAL_GUID,
    )
    result = generate_asset(params, lambda percent, _message: progress.append(percent))
    asset, meta = result["files"]
    assert (result["asset_type"], result["path"]) == ("prefab", "Assets/Prefabs/Crate.prefab")
    assert asset["path"] == "Assets/Prefabs/Crate.prefab"
    assert meta["path"] == "Assets/Prefabs/Crate.prefab.meta"
    assert load_meta(meta["content"])["guid"] == result["guid"]
    renderer = [o for o in load_unity_yaml(asset["content"]) if o.class_name == "MeshRenderer"]
    assert renderer[0].fields["m_Materials"][0]["guid"] == MATERIAL_GUID
    assert progress == sorted(progress) and progress


def test_generate_material_is_deterministic() -> None:
    """Generating the same material twice gives the same GUID and the same bytes."""
    fields = {
        "asset_type": "material",
        "name": "Red",
        "path": "Assets/Red.mat",
        "color": [1, 0, 0, 1],
    }
    first = generate_asset(_params(**fields), lambda *_: None)
    assert first == generate_asset(_params(**fields), lambda *_: None)
    assert (
        load_meta(first["files"][1]["content"])["NativeFormatImporter"]["mainObjectFileID"]
        == 2100000
    )
    other = generate_asset(_params(**{**fields, "path": "Assets/Blue.mat"}), lambda *_: None)
    assert other["guid"] != first["guid"]


def _error_locs(fields: dict[str, Any]) -> list[tuple[int | str, ...]]:
    with pytest.raises(ValidationError) as caught:
        GenerateAssetParams.model_validate(fields)
    return [error["loc"] for error in caught.value.errors()]


PREFAB = {"asset_type": "prefab", "name": "Crate", "path": "Assets/Crate.prefab"}
MATERIAL = {"asset_type": "material", "name": "Red", "path": "Assets/Red.mat"}


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({**PREFAB, "path": "Assets/Crate.mat"}, ("path",)),
        ({**MATERIAL, "path": "Assets/Red.prefab"}, ("path",)),
        ({**PREFAB, "path": "Assets/../Crate.prefab"}, ("path",)),
        ({**PREFAB, "path": "/Assets/Crate.prefab"}, ("path",)),
        ({**PREFAB, "path": "Packages/Crate.prefab"}, ("path",)),
        ({**MATERIAL, "color": [1, 1.5, 0, 1]}, ("color", 1)),
        ({**MATERIAL, "color": [1, 1, 1]}, ("color", 3)),
        ({**MATERIAL, "metallic": -0.1}, ("metallic",)),
        ({**MATERIAL, "shader": "Toon"}, ("shader",)),
        ({**PREFAB, "shader": "Unlit/Color"}, ("shader",)),
        ({**MATERIAL, "components": ["BoxCollider"]}, ("components",)),
        ({**PREFAB, "components": ["Rigidbody", "BoxCollider2D"]}, ("components",)),
        ({**PREFAB, "components": ["MeshRenderer", "SpriteRenderer"]}, ("components",)),
        ({**PREFAB, "components": ["Rigidbody", "Rigidbody"]}, ("components",)),
        ({**PREFAB, "components": ["Camera"]}, ("components", 0)),
        ({**PREFAB, "material_guid": "XYZ"}, ("material_guid",)),
        ({**PREFAB, "material_guid": MATERIAL_GUID}, ("material_guid",)),
        ({**PREFAB, "name": "1Crate"}, ("name",)),
        ({**PREFAB, "nmae": "Crate"}, ("nmae",)),
    ],
)
def test_invalid_params_name_the_field(fields: dict[str, Any], loc: tuple[int | str, ...]) -> None:
    """Each bad field is reported at its own location, so the API's 422 names it."""
    assert loc in _error_locs(fields)


def test_path_errors_say_why() -> None:
    """A suffix mismatch says which suffix the asset type needs."""
    with pytest.raises(ValidationError, match=r"must end in \.prefab"):
        GenerateAssetParams.model_validate({**PREFAB, "path": "Assets/Crate.mat"})


def test_loader_reads_unity_only_syntax() -> None:
    """The loader itself copes with a `stripped` header and negative fileIDs, as in scenes."""
    text = "\n".join(
        [
            *DIRECTIVES,
            "--- !u!1 &-8679921383154817045 stripped",
            "GameObject:",
            "  m_PrefabInstance: {fileID: 7}",
        ]
    )
    (obj,) = load_unity_yaml(text)
    assert (obj.class_id, obj.file_id, obj.stripped) == (1, -8679921383154817045, True)
    assert obj.fields == {"m_PrefabInstance": {"fileID": 7}}
