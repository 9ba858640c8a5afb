"""Game templates: every script parses, declares what it promises, and renders into a namespace."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from functools import cache
from types import MappingProxyType
from typing import Any, get_args

import pytest
import tree_sitter_c_sharp
from pydantic import ValidationError
from tree_sitter import Language, Node, Parser

from spark.contracts.paths import check_project_path
from spark.contracts.preset_params import ApplyPresetParams, PresetId
from spark.engines.unity import presets
from spark.engines.unity.csharp import check_syntax
from spark.engines.unity.presets import (
    PRESETS,
    Preset,
    PresetFile,
    apply_preset,
    get_preset,
    preset_detail,
    preset_summary,
    render_preset,
    wrap_in_namespace,
)
from spark.errors import JobFailure, NotFound

NAMESPACE = "Studio.Game"
PRESET_IDS = ("2d-platformer", "top-down-action", "visual-novel")
FOLDERS = {
    "2d-platformer": "Assets/Scripts/Platformer/",
    "top-down-action": "Assets/Scripts/TopDown/",
    "visual-novel": "Assets/Scripts/VisualNovel/",
}
#: the types each preset's description promises, classes and enums alike
PROMISED_TYPES = {
    "2d-platformer": {
        "PlayerController2D",
        "CameraFollow2D",
        "PlatformerPhysicsSettings",
        "PlatformerPhysicsSetup",
    },
    "top-down-action": {"TopDownMovement", "EnemyAI", "EnemyState", "Health"},
    "visual-novel": {"DialogueLine", "DialogueChoice", "DialogueRunner", "SceneTransition"},
}
#: base types that prove a class is what the description says it is
BASES = {
    "PlayerController2D": "MonoBehaviour",
    "CameraFollow2D": "MonoBehaviour",
    "PlatformerPhysicsSettings": "ScriptableObject",
    "PlatformerPhysicsSetup": "MonoBehaviour",
    "TopDownMovement": "MonoBehaviour",
    "EnemyAI": "MonoBehaviour",
    "Health": "MonoBehaviour",
    "DialogueLine": "ScriptableObject",
    "DialogueRunner": "MonoBehaviour",
    "SceneTransition": "MonoBehaviour",
}
RENDERINGS = [(pid, ns) for pid in PRESET_IDS for ns in (None, NAMESPACE)]


@cache
def _parser() -> Parser:
    """A C# parser of the tests' own, so declarations are read independently of the engine."""
    return Parser(Language(tree_sitter_c_sharp.language()))


def _type_declarations(code: str) -> Iterator[tuple[str, str, str | None]]:
    """(kind, name, enclosing namespace) of each class and enum declared in the source."""
    pending: list[tuple[Node, str | None]] = [(_parser().parse(code.encode()).root_node, None)]
    while pending:
        node, namespace = pending.pop()
        if node.type in ("class_declaration", "enum_declaration"):
            name = node.child_by_field_name("name")
            assert name is not None and name.text is not None
            yield node.type, name.text.decode(), namespace
        if node.type == "namespace_declaration":
            name = node.child_by_field_name("name")
            namespace = name.text.decode() if name is not None and name.text else None
        pending.extend((child, namespace) for child in node.named_children)


def _class_bases(code: str) -> dict[str, str]:
    """Each declared class's first base type, read from the source's declaration lines."""
    return dict(re.findall(r"^\s*public class (\w+) : (\w+)", code, flags=re.MULTILINE))


def _all_files() -> list[Any]:
    """Every preset file with its preset's id, as parameters named after the file."""
    return [
        pytest.param(preset.id, file, id=file.path.rsplit("/", 1)[-1])
        for preset in PRESETS.values()
        for file in preset.files
    ]


def test_presets_are_exactly_the_three_the_contract_names() -> None:
    """The catalogue holds the three contract presets, the same ids ApplyPresetParams accepts."""
    assert tuple(PRESETS) == PRESET_IDS
    assert get_args(PresetId) == PRESET_IDS
    assert all(isinstance(p, Preset) and p.id == pid for pid, p in PRESETS.items())


@pytest.mark.parametrize(("preset_id", "namespace"), RENDERINGS)
def test_every_file_parses_cleanly(preset_id: str, namespace: str | None) -> None:
    """Every rendered file of every preset has no C# syntax errors, with or without namespace."""
    files = render_preset(preset_id, namespace)
    assert files
    for file in files:
        assert check_syntax(file.content) == (), file.path


def test_without_a_namespace_files_are_the_templates_unchanged() -> None:
    """Rendering without a namespace returns the preset's own files."""
    for preset in PRESETS.values():
        assert render_preset(preset.id, None) == list(preset.files)


@pytest.mark.parametrize("preset_id", PRESET_IDS)
def test_each_preset_declares_the_types_its_description_promises(preset_id: str) -> None:
    """The promised classes are declared, named in the description, and derive as they should."""
    preset = PRESETS[preset_id]
    declared: set[str] = set()
    bases: dict[str, str] = {}
    for file in preset.files:
        declared |= {name for _, name, _ in _type_declarations(file.content)}
        bases |= _class_bases(file.content)
    assert declared == PROMISED_TYPES[preset_id]
    for name in PROMISED_TYPES[preset_id]:
        assert re.search(rf"\b{name}\b", preset.description), name
        if name in BASES:
            assert bases[name] == BASES[name], name


@pytest.mark.parametrize(("preset_id", "file"), _all_files())
def test_each_file_is_named_after_its_class(preset_id: str, file: PresetFile) -> None:
    """Unity finds a MonoBehaviour or ScriptableObject only in a file named after its class."""
    assert file.path.startswith(FOLDERS[preset_id])
    assert check_project_path(file.path, suffix=".cs") == file.path
    stem = file.path.rsplit("/", 1)[-1].removesuffix(".cs")
    classes = [
        name for kind, name, _ in _type_declarations(file.content) if kind == "class_declaration"
    ]
    assert classes == [stem]


@pytest.mark.parametrize("preset_id", PRESET_IDS)
def test_namespaced_output_wraps_every_type_and_still_parses(preset_id: str) -> None:
    """With a namespace every class and enum sits inside it and the usings stay at the top."""
    for file in render_preset(preset_id, NAMESPACE):
        assert f"namespace {NAMESPACE}\n{{\n" in file.content
        assert file.content.endswith("}\n")
        assert check_syntax(file.content) == ()
        declarations = list(_type_declarations(file.content))
        assert declarations
        assert all(namespace == NAMESPACE for _, _, namespace in declarations)
        head = file.content.split(f"namespace {NAMESPACE}", 1)[0]
        assert head.strip() and all(
            line.startswith("using ") for line in head.splitlines() if line.strip()
        )


def test_namespace_wrapping_indents_code_but_not_directives() -> None:
    """Code moves one level in, blank lines stay empty, and #if lines keep column 0."""
    source = "using UnityEngine;\n\npublic class A\n{\n\n#if UNITY_EDITOR\n    int x;\n#endif\n}\n"
    wrapped = wrap_in_namespace(source, "N")
    assert wrapped == (
        "using UnityEngine;\n\nnamespace N\n{\n    public class A\n    {\n\n"
        "#if UNITY_EDITOR\n        int x;\n#endif\n    }\n}\n"
    )
    assert check_syntax(wrapped) == ()


def test_render_refuses_a_bad_namespace_and_an_unknown_preset() -> None:
    """An invalid namespace is a ValueError and an unknown preset id is NotFound."""
    with pytest.raises(ValueError, match="namespace"):
        render_preset("2d-platformer", "1Bad..Name")
    with pytest.raises(NotFound) as caught:
        get_preset("racing")
    assert caught.value.details == {"preset_id": "racing"}


@pytest.mark.parametrize(("preset_id", "namespace"), RENDERINGS)
def test_apply_preset_returns_every_file_with_its_sha256(
    preset_id: str, namespace: str | None
) -> None:
    """The result lists every rendered file with a correct hash, and progress reaches 90+."""
    reports: list[tuple[int, str]] = []
    result = apply_preset(
        ApplyPresetParams.model_validate({"preset_id": preset_id, "namespace": namespace}),
        lambda percent, message: reports.append((percent, message)),
    )
    rendered = render_preset(preset_id, namespace)
    assert result["preset_id"] == preset_id
    assert result["name"] == PRESETS[preset_id].name
    assert [f["path"] for f in result["files"]] == [f.path for f in rendered]
    for entry, file in zip(result["files"], rendered, strict=True):
        assert entry["content"] == file.content
        assert entry["sha256"] == hashlib.sha256(file.content.encode()).hexdigest()
    assert result["build_settings"] == dict(PRESETS[preset_id].build_settings)
    settings = result["settings_file"]
    assert settings["path"] == f"Assets/Settings/{preset_id}.json"
    assert check_project_path(settings["path"]) == settings["path"]
    assert json.loads(settings["content"]) == result["build_settings"]
    assert settings["sha256"] == hashlib.sha256(settings["content"].encode()).hexdigest()
    percents = [percent for percent, _ in reports]
    assert percents == sorted(percents)
    assert 90 <= percents[-1] <= 100
    assert len(reports) > len(rendered)
    assert all(any(f.path in message for _, message in reports) for f in rendered)
    json.dumps(result)


def test_apply_preset_refuses_a_file_that_does_not_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken template is an invalid_code failure naming the file and its diagnostics."""
    broken = PresetFile("Assets/Scripts/Broken.cs", "public class Broken { void F() { F(; } }\n")
    preset = PRESETS["2d-platformer"]
    fake = Preset(preset.id, preset.name, preset.description, (broken,), preset.build_settings)
    monkeypatch.setattr(presets, "PRESETS", MappingProxyType({preset.id: fake}))
    with pytest.raises(JobFailure) as caught:
        apply_preset(ApplyPresetParams(preset_id="2d-platformer"), lambda _p, _m: None)
    assert caught.value.failure_code == "invalid_code"
    details: dict[str, Any] = caught.value.details or {}
    assert details["path"] == broken.path
    assert details["diagnostics"] and details["diagnostics"][0]["line"] == 1


def test_unknown_preset_id_is_rejected_by_the_params() -> None:
    """An unknown preset id is a validation error naming preset_id."""
    with pytest.raises(ValidationError) as caught:
        ApplyPresetParams.model_validate({"preset_id": "racing"})
    assert [error["loc"] for error in caught.value.errors()] == [("preset_id",)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "preset_id"),
        ({"preset_id": "visual-novel", "namespace": "Bad Name"}, "namespace"),
        ({"preset_id": "visual-novel", "namespace": "Studio..Game"}, "namespace"),
        ({"preset_id": "visual-novel", "colour": "red"}, "colour"),
    ],
)
def test_bad_params_name_the_field(body: dict[str, Any], field: str) -> None:
    """A missing id, a malformed namespace or an unknown field each name that field."""
    with pytest.raises(ValidationError) as caught:
        ApplyPresetParams.model_validate(body)
    assert (field,) in [error["loc"] for error in caught.value.errors()]


def test_params_accept_a_dotted_namespace() -> None:
    """A dotted namespace and each contract preset id are valid params."""
    for preset_id in PRESET_IDS:
        params = ApplyPresetParams.model_validate({"preset_id": preset_id, "namespace": NAMESPACE})
        assert (params.preset_id, params.namespace) == (preset_id, NAMESPACE)


@pytest.mark.parametrize("preset_id", PRESET_IDS)
def test_build_settings_target_compressed_webgl(preset_id: str) -> None:
    """Every preset builds gzip-compressed WebGL, release mode, with textures of 512 to 1024."""
    settings = PRESETS[preset_id].build_settings
    assert settings["target"] == "WebGL"
    assert settings["compression"] == "gzip"
    assert settings["development"] is False
    assert 512 <= settings["texture_max_size"] <= 1024
    assert settings["filter_mode"] in ("Point", "Bilinear")
    with pytest.raises(TypeError):
        settings["target"] = "Android"  # type: ignore[index]


def test_pixel_art_presets_use_point_filtering_and_small_textures() -> None:
    """The platformer and top-down presets are pixel art; the visual novel is painted."""
    for preset_id in ("2d-platformer", "top-down-action"):
        settings = PRESETS[preset_id].build_settings
        assert (settings["filter_mode"], settings["texture_max_size"]) == ("Point", 512)
    novel = PRESETS["visual-novel"].build_settings
    assert (novel["filter_mode"], novel["texture_max_size"]) == ("Bilinear", 1024)


def test_summary_lists_paths_and_detail_adds_contents() -> None:
    """The list view names the files; the detail view carries their content and hash."""
    for preset in PRESETS.values():
        summary = preset_summary(preset)
        assert set(summary) == {"id", "name", "description", "files", "build_settings"}
        assert summary["files"] == [file.path for file in preset.files]
        detail = preset_detail(preset)
        assert {k: v for k, v in detail.items() if k != "files"} == {
            k: v for k, v in summary.items() if k != "files"
        }
        assert [f["path"] for f in detail["files"]] == summary["files"]
        assert [f["content"] for f in detail["files"]] == [file.content for file in preset.files]
        json.dumps(summary)
        json.dumps(detail)


@pytest.mark.parametrize(("preset_id", "file"), _all_files())
def test_scripts_follow_unity_conventions(preset_id: str, file: PresetFile) -> None:
    """Serialized fields are private with tooltips, bodies are required, and types are documented."""
    code = file.content
    for line in code.splitlines():
        if "[SerializeField" in line:
            assert "Tooltip(" in line, line
    assert _public_fields(code) == []
    for body in ("Rigidbody2D", "CanvasGroup", "Camera"):
        if f"GetComponent<{body}>()" in code:
            assert f"[RequireComponent(typeof({body}))]" in code, body
    summaries = code.count("/// <summary>")
    assert summaries >= len(list(_type_declarations(code)))
    assert "GetComponent" not in _method_body(code, "Update")


def _public_fields(code: str) -> list[str]:
    """Instance fields declared public; Unity code exposes state through properties instead."""
    found = []
    pending = [_parser().parse(code.encode()).root_node]
    while pending:
        node = pending.pop()
        if node.type == "field_declaration":
            modifiers = {c.text.decode() for c in node.children if c.type == "modifier" and c.text}
            if "public" in modifiers and not modifiers & {"const", "static"}:
                found.append((node.text or b"").decode())
        pending.extend(node.named_children)
    return found


def _method_body(code: str, name: str) -> str:
    """The text of a private Unity message's body, or empty when the script has none."""
    match = re.search(rf"private void {name}\(\)\n(\s*)\{{\n(.*?)\n\1\}}", code, re.S)
    return match.group(2) if match else ""
