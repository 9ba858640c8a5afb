"""Game templates: ready-made Unity scripts and build settings for three kinds of 2D game."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

from spark.contracts.preset_params import ApplyPresetParams
from spark.engines.unity.csharp import check_syntax
from spark.errors import JobFailure, NotFound

Report = Callable[[int, str], None]

# The same rule ApplyPresetParams enforces, repeated because render_preset is public too.
_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*")
_INDENT = "    "
#: share of the progress bar the per-file checks cover
_CHECK_START, _CHECK_END = 10, 95
#: where a preset's build settings go as `<preset id>.json` (Unity imports it as a TextAsset)
SETTINGS_FOLDER = "Assets/Settings"


@dataclass(frozen=True)
class PresetFile:
    """One file a preset writes, at a path relative to the project root."""

    path: str
    content: str


@dataclass(frozen=True)
class Preset:
    """A game template: its scripts and the build settings that suit it."""

    id: str
    name: str
    description: str
    files: tuple[PresetFile, ...]
    build_settings: Mapping[str, Any]


def _scripts(preset_id: str, folder: str, classes: tuple[str, ...]) -> tuple[PresetFile, ...]:
    """Each class's `preset_scripts/<preset_id>/<Class>.cs`, placed at `<folder>/<Class>.cs`."""
    # One name for both ends: Unity finds a MonoBehaviour or ScriptableObject only in a file
    # named after its class, and the package file keeps that name so the two cannot drift.
    # Package data rather than Path(__file__), so the scripts load from any installed form.
    # Text mode turns a checkout's CRLF into LF, keeping content and sha256 the same everywhere.
    source = resources.files("spark.engines.unity") / "preset_scripts" / preset_id
    return tuple(
        PresetFile(f"{folder}/{name}.cs", (source / f"{name}.cs").read_text(encoding="utf-8"))
        for name in classes
    )


def _build_settings(
    *, texture_max_size: int, filter_mode: str, screen: tuple[int, int]
) -> Mapping[str, Any]:
    """A read-only WebGL build profile; every preset ships to the browser compressed."""
    width, height = screen
    return MappingProxyType(
        {
            "target": "WebGL",
            "compression": "gzip",
            "development": False,
            "texture_max_size": texture_max_size,
            "filter_mode": filter_mode,
            "screen_width": width,
            "screen_height": height,
        }
    )


_PLATFORMER = Preset(
    id="2d-platformer",
    name="2D Platformer",
    description=(
        "Side-scrolling platformer: PlayerController2D runs and jumps on a Rigidbody2D with "
        "coyote time, jump buffering and a ground check; CameraFollow2D follows with "
        "smoothing, look-ahead and level bounds; PlatformerPhysicsSettings holds gravity and "
        "fall tuning as a ScriptableObject that PlatformerPhysicsSetup applies on load."
    ),
    files=_scripts(
        "2d-platformer",
        "Assets/Scripts/Platformer",
        (
            "PlayerController2D",
            "CameraFollow2D",
            "PlatformerPhysicsSettings",
            "PlatformerPhysicsSetup",
        ),
    ),
    # Pixel art: small textures, no filtering so pixels stay crisp when scaled.
    build_settings=_build_settings(texture_max_size=512, filter_mode="Point", screen=(960, 540)),
)

_TOP_DOWN = Preset(
    id="top-down-action",
    name="Top-Down Action",
    description=(
        "Top-down action game: TopDownMovement moves a Rigidbody2D in 8 directions with "
        "normalized diagonals; EnemyAI patrols, chases and attacks through a small state "
        "machine (EnemyState); Health takes damage with brief invulnerability and raises "
        "events on change and death."
    ),
    files=_scripts(
        "top-down-action", "Assets/Scripts/TopDown", ("TopDownMovement", "Health", "EnemyAI")
    ),
    build_settings=_build_settings(texture_max_size=512, filter_mode="Point", screen=(960, 540)),
)

_VISUAL_NOVEL = Preset(
    id="visual-novel",
    name="Visual Novel",
    description=(
        "Visual novel: DialogueLine assets (ScriptableObjects) hold speaker, text, portrait "
        "and DialogueChoice answers; DialogueRunner types lines out with a typewriter effect "
        "in UnityEngine.UI and offers choices through events; SceneTransition fades a "
        "CanvasGroup around SceneManager.LoadSceneAsync."
    ),
    files=_scripts(
        "visual-novel",
        "Assets/Scripts/VisualNovel",
        ("DialogueLine", "DialogueChoice", "DialogueRunner", "SceneTransition"),
    ),
    # Painted backgrounds and portraits want more resolution and smooth scaling.
    build_settings=_build_settings(
        texture_max_size=1024, filter_mode="Bilinear", screen=(1280, 720)
    ),
)

#: every preset by id, in the order they are listed
PRESETS: Mapping[str, Preset] = MappingProxyType(
    {preset.id: preset for preset in (_PLATFORMER, _TOP_DOWN, _VISUAL_NOVEL)}
)


def get_preset(preset_id: str) -> Preset:
    """The preset with this id, or NotFound."""
    preset = PRESETS.get(preset_id)
    if preset is None:
        raise NotFound(f"no preset named {preset_id!r}", details={"preset_id": preset_id})
    return preset


def render_preset(preset_id: str, namespace: str | None) -> list[PresetFile]:
    """The preset's files, with their declarations wrapped in `namespace` when one is given."""
    files = get_preset(preset_id).files
    if namespace is None:
        return list(files)
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"not a C# namespace: {namespace!r}")
    return [PresetFile(file.path, wrap_in_namespace(file.content, namespace)) for file in files]


def settings_file(preset: Preset) -> PresetFile:
    """The preset's build settings as a JSON file, so the project keeps what suits it."""
    content = json.dumps(dict(preset.build_settings), indent=2, sort_keys=True) + "\n"
    return PresetFile(f"{SETTINGS_FOLDER}/{preset.id}.json", content)


def wrap_in_namespace(content: str, namespace: str) -> str:
    """C# source with everything after its using directives indented inside a namespace block.

    Templates hold no multi-line string literals, so indenting every line is safe.
    """
    lines = content.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.strip() and not line.startswith("using ")),
        len(lines),
    )
    header = _trim_blank_edges(lines[:start])
    body = [_indented(line) for line in _trim_blank_edges(lines[start:])]
    wrapped = [*header, *([""] if header else []), f"namespace {namespace}", "{", *body, "}"]
    return "\n".join(wrapped) + "\n"


def _trim_blank_edges(lines: list[str]) -> list[str]:
    """The lines without leading or trailing blank ones."""
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    last = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].strip()), -1)
    return lines[first : last + 1]


def _indented(line: str) -> str:
    """A body line one level deeper; preprocessor directives keep column 0 by convention."""
    if not line.strip():
        return ""
    if line.startswith("#"):
        return line
    return _INDENT + line


def apply_preset(params: ApplyPresetParams, report: Report) -> dict[str, Any]:
    """Render the preset, check every file's C# syntax, and describe the files as the result."""
    preset = get_preset(params.preset_id)
    report(_CHECK_START - 5, f"rendering preset {preset.id}")
    files = render_preset(preset.id, params.namespace)
    described: list[dict[str, str]] = []
    for index, file in enumerate(files, start=1):
        _check_file(file)
        described.append(_described(file))
        percent = _CHECK_START + (_CHECK_END - _CHECK_START) * index // len(files)
        report(percent, f"checked {file.path} ({index}/{len(files)})")
    return {
        "preset_id": preset.id,
        "name": preset.name,
        "files": described,
        "build_settings": dict(preset.build_settings),
        "settings_file": _described(settings_file(preset)),
    }


def _described(file: PresetFile) -> dict[str, str]:
    """A file as results and preset listings show it."""
    return {"path": file.path, "content": file.content, "sha256": _sha256(file)}


def _check_file(file: PresetFile) -> None:
    """Raise JobFailure when a preset file does not parse, which would be a template bug."""
    diagnostics = check_syntax(file.content)
    if diagnostics:
        raise JobFailure(
            "invalid_code",
            f"preset file {file.path} does not parse as C#",
            {"diagnostics": [dataclasses.asdict(d) for d in diagnostics], "path": file.path},
        )


def _sha256(file: PresetFile) -> str:
    """The hex SHA-256 of the file's UTF-8 content."""
    return hashlib.sha256(file.content.encode("utf-8")).hexdigest()


def preset_summary(preset: Preset) -> dict[str, Any]:
    """The preset as listed by `GET /v1/presets`: what it is and which files it writes."""
    return {
        "id": preset.id,
        "name": preset.name,
        "description": preset.description,
        "files": [file.path for file in preset.files],
        "build_settings": dict(preset.build_settings),
    }


def preset_detail(preset: Preset) -> dict[str, Any]:
    """The preset as shown by `GET /v1/presets/{id}`: the summary with each file's content."""
    return {**preset_summary(preset), "files": [_described(file) for file in preset.files]}
