"""The Unity stand-in's asset import: what a cold Library/ costs it, and what a warm one saves."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import fakes.unity
from fakes.unity import make_unity_project
from fakes.unity_import import artifact_path

_IMPORTED = re.compile(r"^\[FakeUnity\] imported (\d+) of (\d+) assets$", re.MULTILINE)
_REFRESH = re.compile(r"^Asset Pipeline Refresh \(id=\w+\): Total: ([\d.]+) seconds", re.MULTILINE)


def open_project(project: Path, **env: str) -> str:
    """Run the stand-in on project (success, no pause between lines); its log."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_UNITY_")}
    args = ["-batchmode", "-quit", "-projectPath", str(project), "-logFile", "-"]
    args += ["-customBuildTarget", "StandaloneLinux64"]
    args += ["-customBuildPath", str(project.parent / "out" / "Game")]
    done = subprocess.run(
        [sys.executable, fakes.unity.__file__, *args],
        env={**clean, "FAKE_UNITY_DELAY_S": "0", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


def imported(log: str) -> tuple[int, int]:
    found = _IMPORTED.search(log)
    assert found is not None, log
    return int(found.group(1)), int(found.group(2))


def project_with_assets(tmp_path: Path) -> Path:
    project = make_unity_project(tmp_path / "Game", "success", 0.0)
    (project / "Assets" / "Hero.png").write_bytes(b"\x89PNG" * 1000)
    (project / "Assets" / "Hero.png.meta").write_text("guid: 0123456789abcdef0123456789abcdef\n")
    (project / "Assets" / "Scripts").mkdir()
    (project / "Assets" / "Scripts" / "Player.cs").write_text("class Player {}\n")
    return project


def test_a_cold_library_imports_every_asset_but_meta_files_logging_each_as_unity_does(
    tmp_path: Path,
) -> None:
    project = project_with_assets(tmp_path)
    log = open_project(project)
    assert imported(log) == (3, 3)
    assert "Start importing Assets/Hero.png using Guid(0123456789abcdef0123456789abcdef)" in log
    assert "Start importing Assets/Scripts/Player.cs using Guid(" in log
    content = (project / "Assets" / "Hero.png").read_bytes()
    assert artifact_path(project, project / "Assets" / "Hero.png", content).is_file()
    for name in ("ArtifactDB", "SourceAssetDB", "ScriptAssemblies/Assembly-CSharp.dll"):
        assert (project / "Library" / name).is_file()


def test_a_warm_library_imports_nothing_and_a_changed_asset_alone(tmp_path: Path) -> None:
    project = project_with_assets(tmp_path)
    open_project(project)
    assert imported(open_project(project)) == (0, 3)
    (project / "Assets" / "Scripts" / "Player.cs").write_text("class Player { int hp; }\n")
    log = open_project(project)
    assert imported(log) == (1, 3)
    assert "Start importing Assets/Scripts/Player.cs" in log


def test_each_imported_asset_costs_the_per_asset_pause_from_the_project_or_environment(
    tmp_path: Path,
) -> None:
    project = project_with_assets(tmp_path)
    (project / ".fake-unity-import-s").write_text("0.1")
    cold = _REFRESH.search(open_project(project))
    assert cold is not None and float(cold.group(1)) >= 0.3
    (project / "Assets" / "Hero.png").write_bytes(b"repainted")
    one = _REFRESH.search(open_project(project, FAKE_UNITY_IMPORT_S="0.2"))
    # One asset at 0.2 s: two would be 0.4 s.
    assert one is not None and 0.2 <= float(one.group(1)) < 0.4
