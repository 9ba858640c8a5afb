"""compile_check on a real build worker, against the Unity stand-in: a clean compile, parsed
compiler errors, SPARK's laid-over versions compiled, and cancel."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fakes.unity import make_unity_project, processes_mentioning
from fakes.unity_compile import MARKER
from spark.config import Settings
from spark.db.executor import Database
from spark.domain.files import Author
from spark.projects import files
from tests.support.builds import builds_only_worker, wait_no_processes
from tests.support.jobs import TERMINAL, assert_result_matches_its_model, auth, wait_state
from tests.support.workers import WorkerProcess

SCRIPT = "Assets/Scripts/Door.cs"
CLEAN = "public class Door : UnityEngine.MonoBehaviour {}\n"
BROKEN = f"public class Door : UnityEngine.MonoBehaviour {{\n    // {MARKER}\n}}\n"


@pytest.fixture(scope="module")
def build_worker(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A builds-only worker with the Unity stand-in as its editor."""
    proc = builds_only_worker(
        settings, tmp_path_factory.mktemp("compile-worker"), SPARK_BUILD_KILL_GRACE_S="2"
    )
    proc.start()
    yield proc
    proc.stop()


def unity_project(root: Path, script: str, mode: str = "success") -> Path:
    source = make_unity_project(root, mode, delay_s=0.005)
    (source / "Assets" / "Scripts").mkdir()
    (source / SCRIPT).write_text(script, encoding="utf-8")
    return source


def submit_check(client: TestClient, key: str, source: Path) -> tuple[str, str]:
    """The project created for source and the compile_check job submitted for it."""
    body = {"name": source.name + source.parent.name[-8:], "source_dir": str(source)}
    project = client.post("/v1/projects", json=body, headers=auth(key))
    assert project.status_code == 201, project.text
    job = {"kind": "compile_check", "project_id": project.json()["id"], "params": {}}
    resp = client.post("/v1/jobs", json=job, headers=auth(key))
    assert resp.status_code == 202, resp.text
    return project.json()["id"], resp.json()["id"]


def finished(client: TestClient, key: str, db: Database, job_id: str) -> dict[str, Any]:
    wait_state(db, job_id, TERMINAL, timeout=60)
    job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=auth(key)).json()
    assert_result_matches_its_model("compile_check", job["result"])
    return job


def test_a_project_that_compiles_succeeds_with_its_warnings_listed(
    build_worker: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """A clean compile succeeds; the editor's warnings are parsed; no player is built."""
    _, job_id = submit_check(client, api_key, unity_project(tmp_path / "Clean", CLEAN))
    job = finished(client, api_key, db, job_id)
    assert job["state"] == "succeeded", job["error"]
    result = job["result"]
    assert result["result"] == "succeeded" and result["exit_code"] == 0
    assert result["errors"] == [] and result["error_count"] == 0
    assert result["warning_count"] == 1 and result["warnings"][0]["code"] == "CS0414"
    log = client.get(f"/v1/jobs/{job_id}/log", headers=auth(api_key)).text
    assert " -quit " in log and "-executeMethod" not in log


def test_a_script_that_does_not_compile_fails_the_check_with_its_errors(
    build_worker: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """The stand-in's compile-error marker: failed, compile_failed, the error parsed."""
    _, job_id = submit_check(client, api_key, unity_project(tmp_path / "Broken", BROKEN))
    job = finished(client, api_key, db, job_id)
    assert job["state"] == "failed"
    assert job["error"]["code"] == "compile_failed"
    assert job["error"]["details"]["error_count"] == 1
    assert job["result"]["errors"] == [
        {
            "file": SCRIPT,
            "line": 2,
            "column": 8,
            "code": "CS1029",
            "message": f"#error: '{MARKER}'",
        }
    ]


def test_the_version_spark_holds_is_the_one_compiled(
    build_worker: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """A clean source with a broken version of the script written to SPARK fails on it."""
    source = unity_project(tmp_path / "Overlaid", CLEAN)
    body = {"name": "Overlaid" + tmp_path.name[-8:], "source_dir": str(source)}
    project = client.post("/v1/projects", json=body, headers=auth(api_key)).json()
    files.write(db, uuid.UUID(project["id"]), SCRIPT, BROKEN.encode(), Author("alice"), "break")
    job = {"kind": "compile_check", "project_id": project["id"], "params": {}}
    job_id = client.post("/v1/jobs", json=job, headers=auth(api_key)).json()["id"]
    done = finished(client, api_key, db, job_id)
    assert done["error"]["code"] == "compile_failed"
    assert [error["file"] for error in done["result"]["errors"]] == [SCRIPT]
    assert [(f["path"], f["version"]) for f in done["result"]["files"]] == [(SCRIPT, 1)]


def test_cancel_stops_the_editor_and_its_helpers(
    build_worker: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """Cancel while the editor runs: canceled, and no process of its tree left."""
    source = unity_project(tmp_path / "Hangs", CLEAN, "hang")
    project_id, job_id = submit_check(client, api_key, source)
    wait_state(db, job_id, {"running"}, timeout=30)
    deadline = time.monotonic() + 20
    while len(processes_mentioning(project_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(processes_mentioning(project_id)) >= 2, "Unity and its helper never started"
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=auth(api_key)).status_code == 202
    assert wait_state(db, job_id, TERMINAL, timeout=15).state.value == "canceled"
    assert wait_no_processes(project_id) == []
