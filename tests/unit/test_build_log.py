"""Parsing Unity batch-mode logs: compiler messages, progress and the build result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import fakes.unity
from spark.engines.unity.build_log import (
    BuildMessage,
    ProgressTracker,
    ResultsBlock,
    collect_messages,
    is_compact,
    parse_line,
    result_from_log,
    results_block,
)

FAKE_UNITY = Path(fakes.unity.__file__)
CS0103 = (
    "Assets/Scripts/Player.cs(12,5): error CS0103: "
    "The name 'foo' does not exist in the current context"
)


def fake_log(tmp_path: Path, mode: str = "success") -> list[str]:
    """The stdout lines of the Unity stand-in building WebGL, with no per-line delay."""
    args = ["-batchmode", "-nographics", "-quit", "-projectPath", str(tmp_path / "project")]
    args += ["-buildTarget", "WebGL", "-executeMethod", "Spark.Editor.SparkBuilder.Build"]
    args += ["-logFile", "-", "-customBuildTarget", "WebGL"]
    args += ["-customBuildPath", str(tmp_path / "out" / "WebGL")]
    env = {**os.environ, "FAKE_UNITY_MODE": mode, "FAKE_UNITY_DELAY_S": "0"}
    done = subprocess.run(
        [sys.executable, str(FAKE_UNITY), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout.splitlines()


def test_compiler_error_with_location() -> None:
    assert parse_line(CS0103) == BuildMessage(
        severity="error",
        message="The name 'foo' does not exist in the current context",
        file="Assets/Scripts/Player.cs",
        line=12,
        column=5,
        code="CS0103",
    )


def test_compiler_messages_from_public_logs() -> None:
    backtick = (
        "Assets/Scripts/UserInterfaceSetup.cs(147,44): error CS0103: "
        "The name `Demo' does not exist in the current context"
    )
    missing_type = (
        "/github/workspace/Packages/Cesium/CesiumWgs84Ellipsoid.cs(10,6): error CS0246: "
        "The type or namespace name 'ReinteropNativeImplementationAttribute' could not be found "
        "(are you missing a using directive or an assembly reference?)"
    )
    first, second = parse_line(backtick), parse_line(missing_type)
    assert first is not None and (first.line, first.column, first.code) == (147, 44, "CS0103")
    assert second is not None and second.code == "CS0246"
    assert second.file == "/github/workspace/Packages/Cesium/CesiumWgs84Ellipsoid.cs"


def test_compiler_warning_and_windows_path() -> None:
    message = parse_line(
        r"C:\proj\Assets\Enemy.cs(30,17): warning CS0414: The field 'Enemy.x' is never used  "
    )
    assert message is not None
    assert (message.severity, message.file, message.code) == (
        "warning",
        r"C:\proj\Assets\Enemy.cs",
        "CS0414",
    )
    assert message.message == "The field 'Enemy.x' is never used"


@pytest.mark.parametrize(
    "line",
    [
        "Build Finished, Result: Failed.",
        "Error building Player because scripts had compiler errors",
        "UnityEditor.BuildPlayerWindow+BuildMethodException: Error building Player because "
        "scripts have compile errors in the editor",
        "Scripts have compiler errors.",
        "Aborting batchmode due to failure:",
        "executeMethod method Build.DoBuildAndroidLibraryDebug threw exception.",
        "Build completed with a result of 'Failed' in 8 seconds (8360 ms)",
        "Build failed!",
    ],
)
def test_unity_failure_lines_are_errors_without_file(line: str) -> None:
    message = parse_line(line)
    assert message is not None
    assert (message.severity, message.file, message.line, message.code) == (
        "error",
        None,
        None,
        None,
    )
    assert message.message == line


def test_gameci_annotations() -> None:
    wrapped = parse_line("::error::" + CS0103)
    assert wrapped is not None and wrapped.code == "CS0103"
    plain = parse_line("::warning::Shader warning in 'Custom/Water': implicit truncation")
    assert plain == BuildMessage("warning", "Shader warning in 'Custom/Water': implicit truncation")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "Build Finished, Result: Success.",
        "Batchmode quit successfully invoked - shutting down!",
        "Errors: 4",
        "Refreshing native plugins compatible for Editor in 2.10 ms, found 3 plugins.",
        "Building scene 0: Assets/Scenes/Main.unity",
    ],
)
def test_other_lines_are_not_messages(line: str) -> None:
    assert parse_line(line) is None
    assert not is_compact(line)


def test_is_compact_keeps_errors_and_warnings() -> None:
    assert is_compact(CS0103)
    assert is_compact(
        "Assets/A.cs(1,1): warning CS0168: The variable 'e' is declared but never used"
    )
    assert is_compact("Scripts have compiler errors.")


def test_collect_messages_drops_repeats() -> None:
    lines = [CS0103, "Scripts have compiler errors.", CS0103, "Build Finished, Result: Failed."]
    found = collect_messages(lines)
    assert [message.code for message in found] == ["CS0103", None, None]


def test_result_from_log() -> None:
    assert result_from_log(["Initialize engine version", "Build Finished, Result: Success."]) == (
        "succeeded"
    )
    assert result_from_log(
        ["Build Finished, Result: Failed.", "Exiting batchmode successfully now!"]
    )
    assert result_from_log(["Build Finished, Result: Failed."]) == "failed"
    assert result_from_log(["Build Finished, Result: Cancelled."]) == "canceled"
    assert result_from_log(["Build completed with a result of 'Failed' in 8 seconds"]) == "failed"
    block = ["###########################", "Errors: 4", "Build succeeded!"]
    assert result_from_log(block) == "succeeded"
    assert result_from_log(["Batchmode quit successfully invoked - shutting down!"]) is None
    assert result_from_log([]) is None


def test_progress_is_monotonic_over_a_full_log(tmp_path: Path) -> None:
    lines = fake_log(tmp_path)
    tracker = ProgressTracker()
    updates = [update for line in lines if (update := tracker.feed(line)) is not None]
    percents = [percent for percent, _ in updates]
    assert percents == sorted(set(percents)), updates
    assert percents[0] <= 15 and percents[-1] == 100
    messages = [message for _, message in updates]
    for phase in ("Loading project", "Compiling scripts", "Build started", "Building scenes"):
        assert phase in messages
    assert {"Compiling shaders", "Packaging assets", "Compressing"} <= set(messages)
    assert result_from_log(lines) == "succeeded"
    assert [message.code for message in collect_messages(lines)] == ["CS0414"]


def test_progress_ranges_and_failed_build(tmp_path: Path) -> None:
    tracker = ProgressTracker()
    assert tracker.feed("Building scene 0: Assets/A.unity") == (45, "Building scenes")
    assert tracker.feed("Building scene 1: Assets/B.unity") == (49, "Building scenes")
    # A line from an earlier phase never moves progress back.
    assert tracker.feed("- Starting script compilation") is None
    assert tracker.feed("DisplayProgressbar: Building Player") is None
    assert tracker.percent == 49
    failed = ProgressTracker()
    updates = [failed.feed(line) for line in fake_log(tmp_path, "compile_error")]
    assert failed.percent < 100 and any(updates)


def test_results_block_totals(tmp_path: Path) -> None:
    gameci = ["###########################", "#      Build results      #", "#####"]
    gameci += ["Duration: 00:08:38.1499180", "Warnings: 94", "Errors: 4", "Size: 193454560 bytes"]
    assert results_block([*gameci, "Build succeeded!"]) == ResultsBlock(4, 94, 193454560)
    assert results_block(["Errors: 3", "Build Finished, Result: Success."]) is None
    block = results_block(fake_log(tmp_path, "compile_error"))
    assert block is not None and (block.errors, block.warnings) == (1, 0)
