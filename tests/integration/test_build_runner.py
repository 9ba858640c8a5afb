"""The Unity build runner against the fake editor: real subprocesses, no Postgres, no Celery."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from fakes.unity import COMPILE_WARNING, processes_mentioning, write_launcher
from spark.contracts.build_params import UnityBuildParams
from spark.domain.projects import Project
from spark.engines.unity.build_log import is_compact
from spark.engines.unity.builds import BuildEnvironment, BuildRequest, run_build
from spark.engines.unity.editor_script import BUILDER_CS, PROJECT_PATH
from spark.engines.unity.workspace import PIDFILE
from spark.errors import JobFailure, JobTimedOut
from spark.storage.artifacts import Artifacts
from spark.storage.live_logs import LiveLogStore
from spark.storage.local import LocalBlobs


class Canceled(Exception):
    """What a job's report callback raises once the job was canceled."""


class Interrupted(BaseException):
    """Stands in for KeyboardInterrupt and other exits that are not an Exception."""


@pytest.fixture(autouse=True)
def _clean_fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake takes its mode from the project files, never from the developer's shell."""
    for name in ("FAKE_UNITY_MODE", "FAKE_UNITY_DELAY_S", "FAKE_UNITY_RECORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A small Unity project directory, with a short per-line delay for the fake."""
    src = tmp_path / "src"
    (src / "Assets" / "Scenes").mkdir(parents=True)
    (src / "Assets" / "Scenes" / "Main.unity").write_text("%YAML 1.1\n")
    (src / "ProjectSettings").mkdir()
    (src / "ProjectSettings" / "ProjectVersion.txt").write_text("m_EditorVersion: 2022.3.20f1\n")
    (src / ".fake-unity-delay").write_text("0.005")
    return src


@pytest.fixture
def project(source: Path) -> Project:
    """A project built from the source directory; its name needs sanitising."""
    return Project(uuid.uuid4(), "alice", "My Game!", datetime.now(UTC), source_dir=str(source))


@pytest.fixture
def env(tmp_path: Path, spark_redis: str) -> Iterator[BuildEnvironment]:
    """A build worker's environment; afterwards no process may mention its workspaces."""
    root = tmp_path / "workspaces"
    yield BuildEnvironment(
        unity_path=write_launcher(tmp_path / "bin"),
        workspace_root=root,
        artifacts=Artifacts(LocalBlobs(tmp_path / "storage")),
        logs=LiveLogStore(redis.Redis.from_url(spark_redis), LocalBlobs(tmp_path / "storage")),
        default_timeout_s=60,
        kill_grace_s=1.0,
        poll_interval_s=0.05,
        source_roots=(tmp_path,),
    )
    assert wait_until_gone(str(root)) == []


def wait_until_gone(text: str, within_s: float = 2.0) -> list[int]:
    """The processes still mentioning text after giving SIGKILLed ones a moment to die."""
    deadline = time.monotonic() + within_s
    while (left := processes_mentioning(text)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def request(project: Project, attempt: int = 1, **params: Any) -> BuildRequest:
    """A build request for project with params (target WebGL unless given)."""
    body = {"target": "WebGL", **params}
    return BuildRequest(uuid.uuid4(), attempt, project, UnityBuildParams.model_validate(body))


def set_mode(source: Path, mode: str) -> None:
    """Make the fake editor behave as mode for builds of source."""
    (source / ".fake-unity-mode").write_text(mode)


def test_webgl_build_stores_a_zip_reports_rising_progress_and_streams_the_log(
    project: Project, env: BuildEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("FAKE_UNITY_RECORD", str(record))
    req = request(project, options={"compression": "brotli"})
    reports: list[tuple[int, str]] = []
    result = run_build(req, env, lambda percent, message: reports.append((percent, message)))

    assert result["result"] == "succeeded" and result["exit_code"] == 0
    assert result["target"] == "WebGL" and result["revision"] is None
    assert result["errors"] == [] and result["error_count"] == 0
    assert result["warnings"][0]["code"] == "CS0414" and result["warning_count"] == 1
    assert isinstance(result["duration_s"], float) and result["duration_s"] > 0
    json.dumps(result)
    [artifact] = result["artifacts"]
    assert artifact["name"] == "My_Game-WebGL.zip"
    assert artifact["attempt"] == req.attempt
    stored = stored_bytes(env, req, artifact["name"])
    assert hashlib.sha256(stored).hexdigest() == artifact["sha256"]
    assert artifact["size"] == len(stored)
    with zipfile.ZipFile(io.BytesIO(stored)) as zipped:
        assert "My_Game/index.html" in zipped.namelist()
        assert zipped.getinfo("My_Game/index.html").compress_type == zipfile.ZIP_DEFLATED

    percents = [percent for percent, _ in reports]
    assert percents == sorted(percents) and len(set(percents)) >= 4
    assert reports[-1] == (100, "Build succeeded")

    workspace = env.workspace_root / str(project.id)
    assert (workspace / PROJECT_PATH).read_text() == BUILDER_CS
    assert not (workspace / PIDFILE).exists()
    start = json.loads(record.read_text().splitlines()[0])
    assert start["job"] == str(req.job_id) and start["project"] == str(workspace)


def test_the_build_log_is_stored_and_read_by_offset_and_compact(
    project: Project, env: BuildEnvironment
) -> None:
    req = request(project, options={"compression": "brotli"})
    seen_while_running: list[int] = []

    def report(percent: int, message: str) -> None:
        page = env.logs.read(req.job_id)
        seen_while_running.append(page.total_lines if page is not None else 0)

    result = run_build(req, env, report)
    page = env.logs.read(req.job_id)
    assert page is not None and page.lines[0] == "[spark] attempt 1"
    assert any(0 < count < page.total_lines for count in seen_while_running)
    assert "Build Finished, Result: Success." in page.lines
    assert "-webGLCompression brotli" in next(line for line in page.lines if "-batchmode" in line)
    assert page.total_lines == len(page.lines) == page.next_offset
    assert result["log_lines"] < page.total_lines  # the runner's own [spark] lines are extra
    middle = env.logs.read(req.job_id, offset_lines=5, limit=3)
    assert middle is not None and middle.lines == page.lines[5:8] and middle.next_offset == 8
    compact = env.logs.read(req.job_id, keep=is_compact)
    assert compact is not None and compact.lines == (COMPILE_WARNING,)
    assert compact.next_offset == page.total_lines
    first_only = env.logs.read(req.job_id, keep=is_compact, limit=1)
    assert first_only is not None and first_only.lines == (COMPILE_WARNING,)
    assert page.lines[first_only.next_offset - 1] == COMPILE_WARNING  # a raw line number


def test_compile_error_fails_with_the_first_compiler_error(
    project: Project, source: Path, env: BuildEnvironment
) -> None:
    set_mode(source, "compile_error")
    with pytest.raises(JobFailure) as caught:
        run_build(request(project), env, lambda percent, message: None)
    failure = caught.value
    assert failure.failure_code == "build_failed"
    assert failure.message.startswith("Assets/Scripts/Player.cs(12,5): CS0103 The name 'speed'")
    assert failure.details == {"exit_code": 101, "result": "failed"}
    assert failure.result is not None and failure.result["artifacts"] == []
    first = failure.result["errors"][0]
    assert (first["file"], first["line"], first["column"], first["code"]) == (
        "Assets/Scripts/Player.cs",
        12,
        5,
        "CS0103",
    )


def test_failed_result_fails_although_unity_exits_zero(
    project: Project, source: Path, env: BuildEnvironment
) -> None:
    set_mode(source, "result_failed_exit0")
    with pytest.raises(JobFailure) as caught:
        run_build(request(project), env, lambda percent, message: None)
    assert caught.value.failure_code == "build_failed"
    assert caught.value.details == {"exit_code": 0, "result": "failed"}
    assert "Missing Project ID" in caught.value.message


def test_crash_fails_with_unitys_exit_code(
    project: Project, source: Path, env: BuildEnvironment
) -> None:
    set_mode(source, "crash")
    with pytest.raises(JobFailure) as caught:
        run_build(request(project), env, lambda percent, message: None)
    assert caught.value.failure_code == "build_failed"
    assert caught.value.message == "Unity exited with code 1"
    assert caught.value.result is not None and caught.value.result["exit_code"] == 1


def test_canceled_in_unity_is_build_canceled(
    project: Project, source: Path, env: BuildEnvironment
) -> None:
    set_mode(source, "canceled")
    with pytest.raises(JobFailure) as caught:
        run_build(request(project), env, lambda percent, message: None)
    assert caught.value.failure_code == "build_canceled"
    assert caught.value.result is not None and caught.value.result["result"] == "canceled"


def test_hang_times_out_and_leaves_no_process(
    project: Project, source: Path, env: BuildEnvironment
) -> None:
    set_mode(source, "hang")
    started = time.monotonic()
    with pytest.raises(JobTimedOut) as caught:
        run_build(request(project, timeout_s=2), env, lambda percent, message: None)
    assert 2 <= time.monotonic() - started < 6
    assert caught.value.failure_code == "time_limit_exceeded"
    assert caught.value.message == "the build ran past its 2s limit and was stopped"
    assert caught.value.result is not None and caught.value.result["exit_code"] == 143
    workspace = env.workspace_root / str(project.id)
    assert wait_until_gone(str(workspace)) == []
    assert not (workspace / PIDFILE).exists()


@pytest.mark.parametrize("stop", [Canceled, Interrupted])
def test_an_exception_from_report_stops_the_build_and_propagates(
    project: Project, source: Path, env: BuildEnvironment, stop: type[BaseException]
) -> None:
    """A canceled job's report raises; the runner stops Unity's group and lets it through."""
    set_mode(source, "hang")
    req = request(project)

    def report(percent: int, message: str) -> None:
        if percent >= 40:  # the player build has started, and its helper with it
            assert processes_mentioning(str(env.workspace_root)), "Unity is not running"
            raise stop

    started = time.monotonic()
    with pytest.raises(stop):
        run_build(req, env, report)
    assert time.monotonic() - started < 5
    assert wait_until_gone(str(env.workspace_root)) == []
    page = env.logs.read(req.job_id)
    assert page is not None and page.lines[-1] == f"[spark] build stopped: {stop.__name__}"


def test_spark_settings_do_not_reach_unity(
    project: Project,
    source: Path,
    env: BuildEnvironment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The project's editor scripts run inside Unity and must not read the worker's secrets."""
    set_mode(source, "hang")
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("SPARK_JWT_SECRET", "do-not-leak")
    monkeypatch.setenv("FAKE_UNITY_RECORD", str(record))
    environments: list[bytes] = []

    def report(percent: int, message: str) -> None:
        if percent >= 40:
            pid = json.loads(record.read_text().splitlines()[0])["pid"]
            environments.append(Path(f"/proc/{pid}/environ").read_bytes())
            raise Canceled

    with pytest.raises(Canceled):
        run_build(request(project), env, report)
    [environ] = environments
    assert b"FAKE_UNITY_RECORD=" in environ and b"SPARK_" not in environ


def test_unity_not_configured_fails_at_once(project: Project, env: BuildEnvironment) -> None:
    unset = BuildEnvironment(None, env.workspace_root, env.artifacts, env.logs, 60)
    with pytest.raises(JobFailure) as caught:
        run_build(request(project), unset, lambda percent, message: None)
    assert caught.value.failure_code == "unity_not_configured"
    assert "SPARK_UNITY_PATH is not set" in caught.value.message
    assert not env.workspace_root.exists()


def test_unity_path_that_is_not_executable_is_not_configured(
    project: Project, env: BuildEnvironment, tmp_path: Path
) -> None:
    text_file = tmp_path / "Unity.txt"
    text_file.write_text("not a program")
    broken = BuildEnvironment(text_file, env.workspace_root, env.artifacts, env.logs, 60)
    with pytest.raises(JobFailure) as caught:
        run_build(request(project), broken, lambda percent, message: None)
    assert caught.value.failure_code == "unity_not_configured"
    assert "SPARK_UNITY_PATH" in caught.value.message and str(text_file) in caught.value.message


def test_linux_player_is_stored_zipped_with_its_data_and_runtime_executable_kept(
    project: Project, env: BuildEnvironment
) -> None:
    req = request(project, target="StandaloneLinux64", development=True)
    result = run_build(req, env, lambda percent, message: None)
    [artifact] = result["artifacts"]
    assert artifact["name"] == "My_Game-StandaloneLinux64.zip"
    zipped = zipfile.ZipFile(io.BytesIO(stored_bytes(env, req, artifact["name"])))
    names = set(zipped.namelist())
    assert {"My_Game.x86_64", "UnityPlayer.so", "My_Game_Data/globalgamemanagers"} <= names
    assert zipped.getinfo("My_Game.x86_64").external_attr >> 16 & 0o111


def test_a_new_attempt_starts_a_fresh_log(
    project: Project, source: Path, env: BuildEnvironment
) -> None:
    set_mode(source, "crash")
    first = request(project)
    with pytest.raises(JobFailure):
        run_build(first, env, lambda percent, message: None)
    set_mode(source, "success")
    retry = BuildRequest(first.job_id, 2, project, first.params)
    run_build(retry, env, lambda percent, message: None)
    page = env.logs.read(first.job_id)
    assert page is not None and page.lines[0] == "[spark] attempt 2"
    assert not any("SIGSEGV" in line for line in page.lines)
    assert env.logs.read(uuid.uuid4()) is None


def test_put_file_streams_in_chunks_and_hashes(tmp_path: Path) -> None:
    blobs = LocalBlobs(tmp_path / "storage")
    store = Artifacts(blobs)
    source = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)
    source.write_bytes(data)
    job_id = uuid.uuid4()
    artifact = store.put_file(job_id, 2, "big.bin", source)
    assert artifact.size == len(data) and artifact.attempt == 2
    assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    opened = store.open(job_id, 2, "big.bin")
    assert opened is not None
    with opened:
        assert opened.read() == data
    assert store.open(job_id, 1, "big.bin") is None
    assert store.open(job_id, 2, "missing.bin") is None
    assert blobs.keys(f"jobs/{job_id}/") == [f"jobs/{job_id}/2/big.bin"]


def test_a_build_leaves_no_player_in_its_workspace_once_stored_or_failed(
    project: Project, source: Path, env: BuildEnvironment
) -> None:
    """The output folder and its zip go once the player is stored, and after a failed build;
    Unity's Library/ cache stays."""
    workspace = env.workspace_root / str(project.id)
    run_build(request(project), env, lambda percent, message: None)
    assert not (workspace / "Builds" / "WebGL").exists()
    assert not (workspace / "Builds" / "WebGL.zip").exists()
    set_mode(source, "crash")
    with pytest.raises(JobFailure):
        run_build(request(project, target="StandaloneLinux64"), env, lambda p, m: None)
    assert not (workspace / "Builds" / "StandaloneLinux64").exists()


def stored_bytes(env: BuildEnvironment, req: BuildRequest, name: str) -> bytes:
    """The whole artifact the build attempt stored as name."""
    opened = env.artifacts.open(req.job_id, req.attempt, name)
    assert opened is not None
    with opened:
        return opened.read()
