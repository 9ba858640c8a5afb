"""A build's player: where Unity writes it in the workspace for each target, how it is stored
as an artifact (an Android package as is, anything else zipped), and its removal once stored."""

from __future__ import annotations

import os
import re
import shutil
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spark.contracts.build_params import BuildTarget
from spark.errors import JobFailure
from spark.storage.artifacts import Artifact, ArtifactStorage


@dataclass(frozen=True)
class Output:
    """Where Unity writes one target's player and how SPARK stores it."""

    #: what Unity's locationPathName ends with after the player's name ('' names a folder
    #: Unity fills, as an Xcode project, a WebGL site or a Visual Studio solution are)
    suffix: str
    #: stored as one zip of Builds/<target>/ (its files beside it included), else as is
    zipped: bool
    #: what the artifact holds, as the README's table says it
    holds: str


_XCODE = "an Xcode project folder (`<name>/Unity-iPhone.xcodeproj`, `Classes/`, `Data/`, …)"
_CONSOLE = "the folder the platform's module writes (`<name>/…`)"

#: every target's output (CONTRACT §5); Android's `.aab` is chosen by options.android_format
OUTPUTS: dict[BuildTarget, Output] = {
    BuildTarget.STANDALONE_OSX: Output(".app", True, "`<name>.app/` (Contents/MacOS/<name>, …)"),
    BuildTarget.STANDALONE_WINDOWS: Output(
        ".exe", True, "`<name>.exe`, `<name>_Data/`, `UnityPlayer.dll`"
    ),
    BuildTarget.STANDALONE_WINDOWS64: Output(
        ".exe", True, "`<name>.exe`, `<name>_Data/`, `UnityPlayer.dll`"
    ),
    BuildTarget.STANDALONE_LINUX64: Output(
        ".x86_64", True, "`<name>.x86_64`, `<name>_Data/`, `UnityPlayer.so`"
    ),
    BuildTarget.IOS: Output("", True, _XCODE),
    BuildTarget.TVOS: Output("", True, _XCODE),
    BuildTarget.VISION_OS: Output(
        "", True, "an Xcode project folder (`<name>/Unity-VisionOS.xcodeproj`, …)"
    ),
    BuildTarget.ANDROID: Output(".apk", False, "`<name>.apk` (or `<name>.aab`), signed"),
    BuildTarget.WEBGL: Output(
        "", True, "`<name>/index.html`, `Build/` (`.gz`, `.br` or plain), `TemplateData/`"
    ),
    BuildTarget.WSA_PLAYER: Output(
        "", True, "a Visual Studio solution folder (`<name>/<name>.sln`, …)"
    ),
    BuildTarget.PS4: Output("", True, _CONSOLE),
    BuildTarget.XBOX_ONE: Output("", True, _CONSOLE),
    BuildTarget.SWITCH: Output(".nsp", True, "`<name>.nsp`"),
}


def player_name(project_name: str) -> str:
    """The project's name made safe for a file name: letters, digits, `_` and `-`."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", project_name).strip("_-")
    return cleaned[:64] or "player"


def output_path(
    workspace_path: Path, target: BuildTarget, name: str, android_format: str = "apk"
) -> Path:
    """Where Unity writes the player: `Builds/<target>/<name><the target's suffix>`."""
    suffix = OUTPUTS[target].suffix
    if target is BuildTarget.ANDROID:
        suffix = f".{android_format}"
    return workspace_path / "Builds" / target.value / f"{name}{suffix}"


def in_format(out: Path, target: BuildTarget, android_format: str) -> Path:
    """out for the Android format asked for (`.apk` or `.aab`); out itself for other targets."""
    return out.with_suffix(f".{android_format}") if target is BuildTarget.ANDROID else out


def remove_output(out: Path) -> None:
    """Delete the target's output folder (`Builds/<target>/`) and its zip, if there."""
    folder = out.parent
    shutil.rmtree(folder, ignore_errors=True)
    _archive_path(folder).unlink(missing_ok=True)


def store(
    artifacts: ArtifactStorage,
    job_id: uuid.UUID,
    attempt: int,
    out: Path,
    result: dict[str, Any],
) -> Artifact:
    """Store a player the target keeps as one file as is, and any other zipped as
    `<name>-<target>.zip`; build_failed if Unity wrote nothing at out."""
    folder = out.parent
    if not out.exists():
        message = f"Unity reported success but wrote nothing at {out.relative_to(folder.parent)}"
        details = {"exit_code": result["exit_code"], "result": "failed"}
        raise JobFailure("build_failed", message, details, result={**result, "result": "failed"})
    if not OUTPUTS[BuildTarget(result["target"])].zipped and out.is_file():
        return artifacts.put_file(job_id, attempt, out.name, out)
    # Windows and Linux players keep <name>_Data/ and libraries beside the executable, and a
    # zip keeps each file's mode: a macOS or Linux player's executable stays executable.
    archive = _archive_path(folder)
    _zip_folder(folder, archive)
    # out is Builds/<target>/<player name><the target's suffix>, and a player name has no dot.
    return artifacts.put_file(job_id, attempt, f"{out.stem}-{folder.name}.zip", archive)


def _archive_path(folder: Path) -> Path:
    """Where the output folder is zipped before it is stored."""
    return folder.with_name(f"{folder.name}.zip")


def _zip_folder(folder: Path, archive: Path) -> None:
    """Zip the folder's contents (deflated, file by file, modes kept) into archive."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for directory, subdirs, files in os.walk(folder):
            subdirs.sort()
            for file_name in sorted(files):
                path = Path(directory) / file_name
                zipped.write(path, path.relative_to(folder).as_posix())
