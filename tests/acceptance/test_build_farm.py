"""Two build workers: each build runs once, and a killed worker's build is not left running."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from fakes.unity import make_unity_project, write_launcher
from spark.config import Settings
from spark.db.executor import Database
from spark.domain.jobs import Job
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.security.apikeys import create_key
from tests.acceptance.test_builds import create_project, submit_build
from tests.support.builds import read_records, wait_no_processes
from tests.support.jobs import TERMINAL, auth, stored, wait_state
from tests.support.services import free_port
from tests.support.workers import ApiProcess, BeatProcess, WorkerProcess


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
    farm: Path, client: TestClient, db: Database, tmp_path: Path
) -> None:
    """Every build starts Unity once, on one worker, and succeeds."""
    # An enterprise studio: five builds at once are within its concurrent-build quota.
    key = create_key(db, "studio", Tier.ENTERPRISE, DEFAULT_PERMISSIONS).token
    sources = [make_unity_project(tmp_path / f"Game{n}", delay_s=0.01) for n in range(5)]
    projects = [create_project(client, key, source) for source in sources]
    job_ids = [submit_build(client, key, p["id"], "StandaloneLinux64") for p in projects]
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


def _submit_at_once(url: str, key: str, project_id: str, count: int) -> list[httpx.Response]:
    body = {"kind": "unity_build", "project_id": project_id, "params": {"target": "WebGL"}}
    with httpx.Client(timeout=30) as http, ThreadPoolExecutor(count) as pool:
        calls = [
            pool.submit(http.post, f"{url}/v1/jobs", json=body, headers=auth(key))
            for _ in range(count)
        ]
        return [call.result() for call in calls]


def test_a_concurrent_build_quota_of_one_holds_and_is_released_on_any_end(
    farm: Path, worker: WorkerProcess, settings: Settings, db: Database, tmp_path: Path
) -> None:
    """Ten builds at once on the free tier: one accepted, nine 429 quota_exceeded; the slot
    comes back when the build is canceled, and is kept while a build whose worker was killed
    runs again (the reaper, run by beat on the maintenance worker, sends it again)."""
    api = ApiProcess(settings, tmp_path, free_port())
    api.start()
    try:
        key = create_key(db, "indie", Tier.FREE, DEFAULT_PERMISSIONS).token
        source = make_unity_project(tmp_path / "Quota", "hang")
        made = httpx.post(
            f"{api.url}/v1/projects",
            json={"name": "Quota", "source_dir": str(source)},
            headers=auth(key),
        )
        project_id = made.json()["id"]
        answers = _submit_at_once(api.url, key, project_id, 10)
        assert Counter(r.status_code for r in answers) == {202: 1, 429: 9}
        refused = next(r for r in answers if r.status_code == 429)
        assert refused.json()["error"]["code"] == "quota_exceeded"
        assert int(refused.headers["Retry-After"]) >= 1
        first = next(r for r in answers if r.status_code == 202).json()["id"]
        wait_state(db, first, {"running"}, timeout=30)
        httpx.post(f"{api.url}/v1/jobs/{first}/cancel", headers=auth(key))
        wait_state(db, first, TERMINAL, timeout=20)
        second = _submit_at_once(api.url, key, project_id, 1)[0]
        assert second.status_code == 202, second.text
        running = wait_state(db, second.json()["id"], {"running"}, timeout=30)
        _kill_worker_of(running.worker or "")
        # Attempts remain: the reaper sends the build again, the other farm worker runs it,
        # and it keeps the slot until it ends.
        again = _wait_attempt(db, second.json()["id"], 2)
        assert again.state.value == "running" and again.worker != running.worker
        assert _submit_at_once(api.url, key, project_id, 1)[0].status_code == 429
        httpx.post(f"{api.url}/v1/jobs/{second.json()['id']}/cancel", headers=auth(key))
        wait_state(db, second.json()["id"], TERMINAL, timeout=20)
        third = _submit_at_once(api.url, key, project_id, 1)[0]
        assert third.status_code == 202, third.text
        # The next build of the project also clears what the killed one left in its workspace.
        wait_state(db, third.json()["id"], {"running"}, timeout=30)
        httpx.post(f"{api.url}/v1/jobs/{third.json()['id']}/cancel", headers=auth(key))
        wait_state(db, third.json()["id"], TERMINAL, timeout=20)
        assert wait_no_processes(project_id) == []
    finally:
        api.stop()


def _wait_attempt(db: Database, job_id: str, attempt: int, timeout: float = 60.0) -> Job:
    """The job once a worker runs its given attempt."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = stored(db, job_id)
        if job.attempts >= attempt and job.state.value == "running":
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never ran attempt {attempt}: {stored(db, job_id)}")


def _kill_worker_of(claimant: str) -> None:
    """SIGKILL the whole worker (main process and pool) whose pool process holds a job."""
    child = int(claimant.rsplit(":", 1)[1])
    parent = int(Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[1])
    os.killpg(os.getpgid(parent), signal.SIGKILL)
