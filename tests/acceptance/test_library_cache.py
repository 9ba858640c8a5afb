"""A builder's Library cache through the API, on a real build worker with the Unity stand-in:
the second build of a project is a warm hit that imports nothing, a failed build leaves the
cache as it was, and eviction keeps the cache under its cap."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fakes.unity import make_unity_project
from spark.config import Settings
from spark.db.executor import Database
from tests.acceptance.test_builds import create_project, submit_build
from tests.support.builds import builds_only_worker
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.workers import WorkerProcess

TARGET = "StandaloneLinux64"
#: assets per project beside its scene, and what importing each costs the stand-in
ASSETS = 12
IMPORT_S = 0.1
#: one project's cache entry is about 285 KiB, most of it its texture's artifact: two fit
CAP_BYTES = 720 * 1024
_IMPORTED = re.compile(r"^\[FakeUnity\] imported (\d+) of (\d+) assets$", re.MULTILINE)
_REFRESH = re.compile(r"^Asset Pipeline Refresh \(id=\w+\): Total: ([0-9.]+) seconds", re.MULTILINE)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("library-cache")


@pytest.fixture(scope="module")
def build_worker(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, cache_dir: Path
) -> Iterator[WorkerProcess]:
    """A builds-only worker whose Library cache holds two of this module's projects."""
    proc = builds_only_worker(
        settings,
        tmp_path_factory.mktemp("cache-worker"),
        SPARK_LIBRARY_CACHE_DIR=str(cache_dir),
        SPARK_LIBRARY_CACHE_GB=repr(CAP_BYTES / 2**30),
    )
    proc.start()
    yield proc
    proc.stop()


def make_project(root: Path, import_s: float = IMPORT_S) -> Path:
    """A Unity project of a scene, a 100 KiB texture and small scripts and materials, each
    asset costing import_s to import."""
    project = make_unity_project(root, "success", 0.005)
    (project / ".fake-unity-import-s").write_text(str(import_s))
    (project / "Assets" / "Hero.png").write_bytes(bytes(range(256)) * 400)
    for index in range(ASSETS - 1):
        name = f"Assets/Scripts/Script{index}.cs" if index % 2 else f"Assets/Mat{index}.mat"
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(f"// asset {index}\n")
    return project


def build(client: TestClient, key: str, db: Database, project_id: str) -> dict[str, Any]:
    """Build the project for TARGET and wait for the end; the job's result, its state and how
    many assets the stand-in imported, from its log."""
    job_id = submit_build(client, key, project_id, TARGET)
    job = wait_state(db, job_id, TERMINAL, timeout=60)
    log = client.get(f"/v1/jobs/{job_id}/log", headers=auth(key)).text
    found, refresh = _IMPORTED.search(log), _REFRESH.search(log)
    assert found is not None and refresh is not None, log
    imported, assets = int(found.group(1)), int(found.group(2))
    return {
        **(job.result or {}),
        "state": job.state.value,
        "imported": imported,
        "of": assets,
        "import_s": float(refresh.group(1)),
    }


def cache_bytes(cache_dir: Path) -> int:
    """The bytes of every file in the cache, as a disk-usage tool sums them."""
    return sum(p.lstat().st_size for p in cache_dir.rglob("*") if p.is_file())


def test_the_second_build_of_a_project_is_a_hit_that_imports_nothing_and_is_faster(
    build_worker: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    project = create_project(client, api_key, make_project(tmp_path / "Warm"))
    cold = build(client, api_key, db, project["id"])
    warm = build(client, api_key, db, project["id"])
    # Every asset: the project's and the build method SPARK lays in.
    assert (cold["state"], cold["library_cache"]) == ("succeeded", "miss")
    assert cold["imported"] == cold["of"] > ASSETS
    assert (warm["state"], warm["library_cache"], warm["imported"]) == ("succeeded", "hit", 0)
    # The editor's own import: the cold one paid IMPORT_S for each asset (over a second in all),
    # the warm one nothing. Wall-clock figures of whole builds are the benchmark's (bench/).
    assert cold["import_s"] >= cold["of"] * IMPORT_S > warm["import_s"], (cold, warm)


def test_a_failed_build_leaves_the_cache_as_the_last_successful_build_left_it(
    build_worker: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    source = make_project(tmp_path / "Fails")
    project = create_project(client, api_key, source)
    assert build(client, api_key, db, project["id"])["library_cache"] == "miss"

    (source / "Assets" / "Hero.png").write_bytes(b"a repainted hero")
    (source / ".fake-unity-mode").write_text("compile_error")
    failed = build(client, api_key, db, project["id"])
    assert (failed["state"], failed["library_cache"], failed["imported"]) == ("failed", "hit", 1)

    (source / ".fake-unity-mode").write_text("success")
    after = build(client, api_key, db, project["id"])
    # The failed build imported the new texture too: had its Library/ been kept, nothing would be.
    assert (after["state"], after["library_cache"], after["imported"]) == ("succeeded", "hit", 1)


def test_eviction_keeps_the_cache_under_its_cap_and_drops_the_least_recently_used(
    build_worker: WorkerProcess,
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
    cache_dir: Path,
) -> None:
    ids = {
        name: create_project(client, api_key, make_project(tmp_path / name, 0.002))["id"]
        for name in ("Alpha", "Beta", "Gamma")
    }

    def build_and_check(name: str) -> str:
        result = build(client, api_key, db, ids[name])
        assert result["state"] == "succeeded", result
        assert 0 < cache_bytes(cache_dir) <= CAP_BYTES
        return str(result["library_cache"])

    assert [build_and_check(name) for name in ("Alpha", "Beta", "Gamma")] == ["miss"] * 3
    # Alpha was used least recently, so Gamma's entry evicted it; Alpha's return evicts Beta.
    assert build_and_check("Alpha") == "miss"
    assert build_and_check("Gamma") == "hit"
    assert build_and_check("Beta") == "miss"
