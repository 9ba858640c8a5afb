"""The build runner with a Library cache, against the Unity stand-in: a build that times out or
is stopped keeps nothing and leaves no Library/ behind, and a cache that cannot be written
costs a build its warmth, never the build."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from fakes.unity import make_unity_project, write_launcher
from spark.contracts.build_params import UnityBuildParams
from spark.domain.projects import Project
from spark.engines.unity.builds import BuildEnvironment, BuildRequest, run_build
from spark.engines.unity.library_cache import LibraryCache
from spark.errors import JobFailure, JobTimedOut
from spark.storage.artifacts import Artifacts
from spark.storage.live_logs import LiveLogStore
from spark.storage.local import LocalBlobs

_IMPORTED = re.compile(r"^\[FakeUnity\] imported (\d+) of \d+ assets$", re.MULTILINE)


class Canceled(Exception):
    """What a job's report callback raises once the job was canceled."""


@pytest.fixture(autouse=True)
def _clean_fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in takes its mode from the project files, never from the developer's shell."""
    for name in ("FAKE_UNITY_MODE", "FAKE_UNITY_DELAY_S", "FAKE_UNITY_IMPORT_S"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return make_unity_project(tmp_path / "src", "success", 0.0)


@pytest.fixture
def project(source: Path) -> Project:
    return Project(uuid.uuid4(), "alice", "Cached", datetime.now(UTC), source_dir=str(source))


def environment(tmp_path: Path, spark_redis: str, cache_root: Path) -> BuildEnvironment:
    """A build worker's environment with its Library cache at cache_root."""
    blobs = LocalBlobs(tmp_path / "storage")
    return BuildEnvironment(
        unity_path=write_launcher(tmp_path / "bin"),
        workspace_root=tmp_path / "workspaces",
        artifacts=Artifacts(blobs),
        logs=LiveLogStore(redis.Redis.from_url(spark_redis), blobs),
        default_timeout_s=60,
        kill_grace_s=1.0,
        poll_interval_s=0.05,
        source_roots=(tmp_path,),
        library_cache=LibraryCache(cache_root, 2**30),
        unity_version="2022.3.20f1",
    )


@pytest.fixture
def env(tmp_path: Path, spark_redis: str) -> Iterator[BuildEnvironment]:
    yield environment(tmp_path, spark_redis, tmp_path / "cache")


def request(project: Project, **params: object) -> BuildRequest:
    body = {"target": "StandaloneLinux64", **params}
    return BuildRequest(uuid.uuid4(), 1, project, UnityBuildParams.model_validate(body))


def imported(env: BuildEnvironment, job: BuildRequest) -> int:
    """How many assets the stand-in imported in the job's build, from its stored log."""
    page = env.logs.read(job.job_id)
    assert page is not None
    found = _IMPORTED.search("\n".join(page.lines))
    assert found is not None, page.lines
    return int(found.group(1))


def test_a_timed_out_build_keeps_nothing_and_leaves_no_library(
    project: Project, source: Path, env: BuildEnvironment
) -> None:
    (source / ".fake-unity-mode").write_text("hang")
    with pytest.raises(JobTimedOut) as caught:
        run_build(request(project, timeout_s=2), env, lambda percent, message: None)
    assert caught.value.result is not None and caught.value.result["library_cache"] == "miss"
    assert env.library_cache is not None and env.library_cache.entries() == []
    assert not (env.workspace_root / str(project.id) / "Library").exists()


def test_a_build_stopped_by_its_cancel_leaves_the_entry_its_last_success_saved(
    project: Project, source: Path, env: BuildEnvironment
) -> None:
    first = request(project)
    assert run_build(first, env, lambda percent, message: None)["library_cache"] == "miss"
    (source / "Assets" / "New.mat").write_text("a material the canceled build imports")

    def cancel(percent: int, message: str) -> None:
        if percent >= 40:
            raise Canceled

    with pytest.raises(Canceled):
        run_build(request(project), env, cancel)
    assert not (env.workspace_root / str(project.id) / "Library").exists()
    again = request(project)
    assert run_build(again, env, lambda percent, message: None)["library_cache"] == "hit"
    assert imported(env, again) == 1


def test_a_cache_that_cannot_be_written_leaves_the_build_succeeded_and_cold(
    project: Project, tmp_path: Path, spark_redis: str
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("the cache's folder cannot be made under a file")
    env = environment(tmp_path, spark_redis, blocked / "cache")
    for _ in range(2):
        result = run_build(request(project), env, lambda percent, message: None)
        assert (result["result"], result["library_cache"]) == ("succeeded", "miss")


def test_a_failed_builds_result_says_whether_its_library_was_warm(
    project: Project, source: Path, env: BuildEnvironment
) -> None:
    run_build(request(project), env, lambda percent, message: None)
    (source / ".fake-unity-mode").write_text("compile_error")
    with pytest.raises(JobFailure) as caught:
        run_build(request(project), env, lambda percent, message: None)
    assert caught.value.result is not None and caught.value.result["library_cache"] == "hit"
