"""The Unity stand-in used by build tests, and SPARK's editor build script."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import fakes.unity
from fakes.unity import (
    COMPILE_ERROR,
    HELPER_MARKER,
    parse_args,
    processes_mentioning,
    write_launcher,
)
from spark.engines.unity.build_log import result_from_log
from spark.engines.unity.csharp import check_syntax
from spark.engines.unity.editor_script import BUILD_METHOD, BUILDER_CS

FAKE_UNITY = Path(fakes.unity.__file__)


def unity_args(tmp_path: Path, target: str = "WebGL", log_file: str = "-") -> list[str]:
    """Unity's batch-mode arguments as SPARK's build worker passes them."""
    return [
        *("-batchmode", "-nographics", "-quit", "-projectPath", str(tmp_path / "project")),
        *("-buildTarget", target, "-executeMethod", BUILD_METHOD, "-logFile", log_file),
        *("-customBuildTarget", target, "-customBuildPath", str(tmp_path / "out" / target)),
    ]


def run_fake(
    tmp_path: Path, mode: str | None, target: str = "WebGL", **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """Runs the stand-in to completion with no per-line delay (mode None: not in the env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_UNITY_")}
    env.update(FAKE_UNITY_DELAY_S="0", **extra_env)
    if mode is not None:
        env["FAKE_UNITY_MODE"] = mode
    return subprocess.run(
        [sys.executable, str(FAKE_UNITY), *unity_args(tmp_path, target), "-sparkJobId", "job-1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_success_writes_webgl_folder(tmp_path: Path) -> None:
    done = run_fake(tmp_path, "success")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out" / "WebGL"
    assert (out / "index.html").is_file()
    # gzip unless -webGLCompression says otherwise; the loader is never compressed
    names = {path.name for path in (out / "Build").iterdir()}
    assert {"WebGL.loader.js", "WebGL.wasm.gz", "WebGL.framework.js.gz"} <= names
    assert "#      Build results      #" in done.stdout
    assert "Build Finished, Result: Success." in done.stdout
    assert result_from_log(done.stdout.splitlines()) == "succeeded"


def test_success_writes_single_file_for_other_targets(tmp_path: Path) -> None:
    done = run_fake(tmp_path, "success", target="StandaloneLinux64")
    assert done.returncode == 0
    assert (tmp_path / "out" / "StandaloneLinux64").is_file()


def test_asked_to_the_stand_in_logs_each_file_under_assets_with_its_sha256(
    tmp_path: Path,
) -> None:
    """Tests see what the workspace held when Unity ran; without the setting, nothing extra."""
    project = fakes.unity.make_unity_project(tmp_path / "project", manifest=True)
    (project / "Assets" / "Scripts").mkdir()
    (project / "Assets" / "Scripts" / "Coin.cs").write_bytes(b"class Coin {}")
    lines = run_fake(tmp_path, "success").stdout.splitlines()
    coin = hashlib.sha256(b"class Coin {}").hexdigest()
    assert f"[FakeUnity] file Assets/Scripts/Coin.cs sha256={coin}" in lines
    assert sum(line.startswith("[FakeUnity] file ") for line in lines) == 2  # and Main.unity
    (project / ".fake-unity-manifest").unlink()
    assert "[FakeUnity] file" not in run_fake(tmp_path, "success").stdout


def test_compile_error_exits_101(tmp_path: Path) -> None:
    done = run_fake(tmp_path, "compile_error")
    assert done.returncode == 101
    assert COMPILE_ERROR in done.stdout.splitlines()
    assert "error CS0103: The name 'speed'" in COMPILE_ERROR
    assert not (tmp_path / "out").exists()
    assert result_from_log(done.stdout.splitlines()) == "failed"


def test_result_failed_but_exit_zero(tmp_path: Path) -> None:
    done = run_fake(tmp_path, "result_failed_exit0")
    assert done.returncode == 0
    assert "Build Finished, Result: Failed." in done.stdout
    assert result_from_log(done.stdout.splitlines()) == "failed"


def test_crash_exits_1_without_results(tmp_path: Path) -> None:
    done = run_fake(tmp_path, "crash")
    assert done.returncode == 1
    assert "Build results" not in done.stdout
    assert result_from_log(done.stdout.splitlines()) is None


def test_log_file_argument(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "unity.log"
    env = {**os.environ, "FAKE_UNITY_MODE": "success", "FAKE_UNITY_DELAY_S": "0"}
    command = [sys.executable, str(FAKE_UNITY), *unity_args(tmp_path, log_file=str(log_file))]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout == ""
    assert "Build succeeded!" in log_file.read_text(encoding="utf-8")


def test_launcher_runs_as_unity_executable(tmp_path: Path) -> None:
    launcher = write_launcher(tmp_path / "bin")
    assert launcher.name == "Unity" and os.access(launcher, os.X_OK)
    env = {**os.environ, "FAKE_UNITY_MODE": "compile_error", "FAKE_UNITY_DELAY_S": "0"}
    done = subprocess.run(
        [str(launcher), *unity_args(tmp_path)], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 101


def test_parse_args() -> None:
    parsed = parse_args(["-batchmode", "-logFile", "-", "-projectPath", "/p", "-development"])
    assert parsed == {"batchmode": "", "logfile": "-", "projectpath": "/p", "development": ""}


def test_mode_and_delay_come_from_project_files_without_env(tmp_path: Path) -> None:
    """A build runner passes no env of its own, so tests steer the fake through the project."""
    project = tmp_path / "project"
    project.mkdir()
    (project / ".fake-unity-mode").write_text("crash\n")
    (project / ".fake-unity-delay").write_text("0\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_UNITY_")}
    command = [sys.executable, str(FAKE_UNITY), *unity_args(tmp_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert run_fake(tmp_path, "compile_error").returncode == 101  # the env wins over the file


def test_record_appends_start_and_exit_lines(tmp_path: Path) -> None:
    record = tmp_path / "record.jsonl"
    run_fake(tmp_path, "compile_error", FAKE_UNITY_RECORD=str(record))
    run_fake(tmp_path, "success", FAKE_UNITY_RECORD=str(record))
    events = [json.loads(line) for line in record.read_text().splitlines()]
    assert [(e["event"], e.get("code")) for e in events] == [
        ("start", None),
        ("exit", 101),
        ("start", None),
        ("exit", 0),
    ]
    start = events[0]
    assert start["job"] == "job-1" and start["project"] == str(tmp_path / "project")
    assert start["pid"] > 0 and start["pgid"] == os.getpgrp()  # not a session of its own
    assert events[0]["time"] <= events[1]["time"] <= events[2]["time"]


@pytest.fixture
def hanging(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """The stand-in in hang mode, in its own process group that teardown always kills."""
    env = {**os.environ, "FAKE_UNITY_MODE": "hang", "FAKE_UNITY_DELAY_S": "0"}
    process = subprocess.Popen(
        [sys.executable, str(FAKE_UNITY), *unity_args(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        # The child it spawned outlives it unless the whole group goes.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


def test_hang_stops_on_sigterm_and_leaves_a_child(hanging: subprocess.Popen[str]) -> None:
    assert hanging.stdout is not None
    lines: list[str] = []
    while not lines or "Building Player" not in lines[-1]:
        lines.append(hanging.stdout.readline())
        assert lines[-1], "the stand-in ended early"
    pid_line = next(line for line in lines if line.startswith("Starting: UnityShaderCompiler"))
    child_pid = int(pid_line.rsplit("pid ", 1)[1].rstrip(")\n"))
    # Findable by its marker once it has exec'd (until then /proc shows the parent's argv).
    deadline = time.monotonic() + 5
    while child_pid not in processes_mentioning(HELPER_MARKER) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert child_pid in processes_mentioning(HELPER_MARKER)
    time.sleep(0.1)
    assert hanging.poll() is None
    started = time.monotonic()
    hanging.send_signal(signal.SIGTERM)
    assert hanging.wait(timeout=2) == 143
    assert time.monotonic() - started < 2
    os.kill(child_pid, 0)  # still alive: only killing the group cleans up
    # The child holds the inherited stdout open, so the log ends only when the group dies.
    os.killpg(hanging.pid, signal.SIGKILL)
    assert "SIGTERM" in hanging.stdout.read()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child_pid):
        time.sleep(0.05)
    assert not _alive(child_pid)
    assert child_pid not in processes_mentioning(HELPER_MARKER)


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie awaiting its parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_spark_builder_parses_cleanly() -> None:
    assert check_syntax(BUILDER_CS) == ()
    assert "namespace Spark.Editor" in BUILDER_CS
    assert "public static void Build()" in BUILDER_CS
    assert "report.summary.result" in BUILDER_CS
    for code in (
        "ExitSucceeded = 0",
        "ExitFailed = 101",
        "ExitCanceled = 102",
        "ExitUnknown = 103",
    ):
        assert code in BUILDER_CS
