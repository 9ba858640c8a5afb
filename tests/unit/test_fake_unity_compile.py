"""The Unity stand-in's compile step: the compile-error marker, and how each run ends on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import fakes.unity
from fakes.unity import make_unity_project
from fakes.unity_compile import MARKER
from spark.engines.unity.build_log import parse_line

FAKE_UNITY = Path(fakes.unity.__file__)


def run(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_UNITY_")}
    args = ["-batchmode", "-quit", "-projectPath", str(project), "-logFile", "-", *extra]
    return subprocess.run(
        [sys.executable, str(FAKE_UNITY), *args],
        env={**env, "FAKE_UNITY_DELAY_S": "0"},
        capture_output=True,
        text=True,
        timeout=30,
    )


def broken_project(root: Path) -> Path:
    project = make_unity_project(root)
    (project / "Assets" / "Scripts").mkdir()
    script = f"public class Door {{\n  void Open() {{}} // {MARKER}\n}}\n"
    (project / "Assets" / "Scripts" / "Door.cs").write_text(script, encoding="utf-8")
    return project


def test_a_compile_only_run_compiles_and_quits_with_0(tmp_path: Path) -> None:
    """Without the marker: a warning, no player, exit 0."""
    done = run(make_unity_project(tmp_path / "Game"))
    assert done.returncode == 0, done.stderr
    assert "error CS" not in done.stdout and "warning CS0414" in done.stdout
    assert "Building Player" not in done.stdout


def test_the_marker_fails_the_compile_at_its_file_line_and_column(tmp_path: Path) -> None:
    """Unity's error line for the marked line, the summary, exit 1 as batch mode gives."""
    done = run(broken_project(tmp_path / "Game"))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    [error] = [line for line in lines if "error CS" in line]
    message = parse_line(error)
    assert message is not None
    assert (message.file, message.line, message.column, message.code) == (
        "Assets/Scripts/Door.cs",
        2,
        21,
        "CS1029",
    )
    assert lines[lines.index(error) + 1] == "Scripts have compiler errors."


def test_a_build_of_a_marked_project_fails_as_compile_error_mode_does(tmp_path: Path) -> None:
    """With SPARK's build method named: the build fails on the compile, exit 101."""
    project = broken_project(tmp_path / "Game")
    done = run(project, "-executeMethod", "SparkBuilder.Build", "-customBuildTarget", "WebGL")
    assert done.returncode == 101
    assert "Build Finished, Result: Failed." in done.stdout
