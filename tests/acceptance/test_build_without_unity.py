"""A build worker without Unity fails builds at once instead of pretending."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from fakes.unity import make_unity_project
from spark.config import Settings
from spark.db.executor import Database
from tests.acceptance.test_builds import create_project, submit_build
from tests.support.jobs import TERMINAL, wait_state
from tests.support.workers import WorkerProcess


def test_without_unity_configured_a_build_fails_at_once_naming_the_setting(
    settings: Settings, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """SPARK_UNITY_PATH unset on the build worker: failed, and the error says what to set."""
    worker = WorkerProcess(settings, tmp_path, queues="builds", concurrency=1)
    worker.start()
    try:
        project = create_project(client, api_key, make_unity_project(tmp_path / "NoUnity"))
        job_id = submit_build(client, api_key, project["id"])
        job = wait_state(db, job_id, TERMINAL, timeout=30)
    finally:
        worker.stop()
    assert job.state.value == "failed" and job.error is not None
    assert job.error.code == "unity_not_configured"
    assert "SPARK_UNITY_PATH" in job.error.message
    assert job.finished_at is not None and job.started_at is not None
    assert (job.finished_at - job.started_at).total_seconds() < 2
