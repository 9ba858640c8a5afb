"""A build's player: where Unity writes it in the workspace, how it is stored as an artifact
(a lone file as is, a folder zipped), and its removal once stored."""

from __future__ import annotations

import os
import re
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import Any

from spark.contracts.build_params import BuildTarget
from spark.errors import JobFailure
from spark.storage.artifacts import Artifact, ArtifactStorage

#: player file names by target; other targets (WebGL, iOS, …) write a folder
_PLAYER_SUFFIX = {
    BuildTarget.STANDALONE_WINDOWS: ".exe",
    BuildTarget.STANDALONE_WINDOWS64: ".exe",
    BuildTarget.STANDALONE_OSX: ".app",
    BuildTarget.ANDROID: ".apk",
    BuildTarget.STANDALONE_LINUX64: ".x86_64",
}


def player_name(project_name: str) -> str:
    """The project's name made safe for a file name: letters, digits, `_` and `-`."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", project_name).strip("_-")
    return cleaned[:64] or "player"


def output_path(workspace_path: Path, target: BuildTarget, name: str) -> Path:
    """Where Unity writes the player: `Builds/<target>/<name>[.exe|.app|.apk|.x86_64]`."""
    return workspace_path / "Builds" / target.value / f"{name}{_PLAYER_SUFFIX.get(target, '')}"


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
    """Store a lone player file as is, and a folder (or a file with its data beside it) zipped
    as `<name>-<target>.zip`; build_failed if Unity wrote nothing at out."""
    folder = out.parent
    if not out.exists():
        message = f"Unity reported success but wrote nothing at {out.relative_to(folder.parent)}"
        details = {"exit_code": result["exit_code"], "result": "failed"}
        raise JobFailure("build_failed", message, details, result={**result, "result": "failed"})
    if out.is_file() and [entry.name for entry in folder.iterdir()] == [out.name]:
        return artifacts.put_file(job_id, attempt, out.name, out)
    # Windows and Linux players keep <name>_Data/ and libraries beside the executable.
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
