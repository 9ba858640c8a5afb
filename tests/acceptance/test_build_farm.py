"""Two build workers: each build runs once, and a killed worker's build is not left running."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.engine import Database
from tests.acceptance.test_builds import create_project, submit_build
from tests.support.builds import make_unity_project, read_records, wait_no_processes
from tests.support.fake_unity import write_launcher
from tests.support.jobs import TERMINAL, stored, wait_state
from tests.support.workers import BeatProcess, WorkerProcess


@pytest.fixture(scope="module")
def farm(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two build workers sharing a record file the Unity stand-in appends to; and beat."""
    root = tmp_path_factory.mktemp("farm")
    record = root / "unity-runs.jsonl"
    launcher = write_launcher(root / "unity")
    procs = [
        WorkerProcess(
            settings,
            root,
            queues="builds",
            concurrency=1,
            SPARK_UNITY_PATH=str(launcher),
            SPARK_WORKSPACE_DIR=str(root / f"workspaces-{n}"),
            FAKE_UNITY_RECORD=str(record),
        )
        for n in range(2)
    ]
    beat = BeatProcess(settings, root)
    for proc in (*procs, beat):
        proc.start()
    yield record
    for proc in (*procs, beat):
        proc.stop()


def test_five_builds_on_two_workers_each_run_exactly_once(
    farm: Path, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """Every build starts Unity once, on one worker, and succeeds."""
    sources = [make_unity_project(tmp_path / f"Game{n}", delay_s=0.01) for n in range(5)]
    projects = [create_project(client, api_key, source) for source in sources]
    job_ids = [submit_build(client, api_key, p["id"], "StandaloneLinux64") for p in projects]
    jobs = [wait_state(db, job_id, TERMINAL, timeout=90) for job_id in job_ids]
    assert [job.state.value for job in jobs] == ["succeeded"] * 5, [j.error for j in jobs]
    assert all(job.attempts == 1 for job in jobs)
    starts = Counter(r["job"] for r in read_records(farm) if r["event"] == "start")
    assert {job_id: starts[job_id] for job_id in job_ids} == {job_id: 1 for job_id in job_ids}


def test_a_build_whose_worker_is_killed_never_stays_running(
    farm: Path, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """SIGKILL the process running the build: it is redelivered and finishes elsewhere,
    or ends failed worker_lost — and its Unity does not outlive it."""
    source = make_unity_project(tmp_path / "Killed", delay_s=0.15)
    project = create_project(client, api_key, source)
    job_id = submit_build(client, api_key, project["id"], "StandaloneLinux64")
    deadline = time.monotonic() + 30
    while not any(r["job"] == job_id for r in read_records(farm)) and time.monotonic() < deadline:
        time.sleep(0.05)
    job = stored(db, job_id)
    assert job.state.value == "running" and job.worker is not None
    os.kill(int(job.worker.rsplit(":", 1)[1]), signal.SIGKILL)
    final = wait_state(db, job_id, TERMINAL, timeout=60)
    if final.state.value == "succeeded":
        assert final.attempts == 2
    else:
        assert final.state.value == "failed" and final.error is not None
        assert final.error.code == "worker_lost"
    assert wait_no_processes(project["id"]) == []
