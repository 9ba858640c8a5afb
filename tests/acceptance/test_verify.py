"""`verify` on a writing job: its steps run as child jobs on a real build worker against the
Unity stand-in; a failed step puts the file back (authored by SPARK's verify), a passing
chain keeps it with every step's evidence, and a cancel of the parent stops its running step."""

from __future__ import annotations

import json
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
from spark.domain.principals import DEFAULT_PERMISSIONS, Permission, Tier
from spark.security.apikeys import create_key
from tests.acceptance.test_builds import create_project
from tests.acceptance.test_run_tests import TEST_ASMDEF
from tests.support.builds import builds_only_worker, wait_no_processes
from tests.support.jobs import TERMINAL, assert_result_matches_its_model, auth, wait_state
from tests.support.workers import WorkerProcess

TESTS_PATH = "Assets/Tests/X.cs"
PASSING = """using NUnit.Framework;

namespace Shop
{
    public class Cart
    {
        [Test]
        public void Adds()
        {
            Assert.AreEqual(2, 1 + 1);
        }

        [Test]
        public void Discount()
        {
            Assert.AreEqual(90, 100 - 10);
        }
    }
}
"""
GOOD_LINE = "Assert.AreEqual(90, 100 - 10);"
BAD_LINE = 'Assert.Fail("Expected: 90 But was: 100");'


@pytest.fixture(scope="module")
def builder(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A builds-only worker with the Unity stand-in as its editor."""
    proc = builds_only_worker(
        settings, tmp_path_factory.mktemp("verify-builder"), SPARK_BUILD_KILL_GRACE_S="2"
    )
    proc.start()
    yield proc
    proc.stop()


def unity_project(root: Path, tests: str, mode: str = "success") -> Path:
    """A Unity project whose EditMode test assembly holds tests (as X.cs)."""
    project = make_unity_project(root, mode, delay_s=0.01)
    folder = project / "Assets" / "Tests"
    folder.mkdir(parents=True)
    (folder / "Shop.Tests.asmdef").write_text(json.dumps(TEST_ASMDEF), encoding="utf-8")
    (folder / "X.cs").write_text(tests, encoding="utf-8")
    return project


def patch(
    client: TestClient, key: str, project_id: str, params: dict[str, Any], timeout: float = 90
) -> dict[str, Any]:
    """Submit an apply_patch and return the job once it ended."""
    body = {"kind": "apply_patch", "project_id": project_id, "params": params}
    resp = client.post("/v1/jobs", json=body, headers=auth(key))
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=auth(key)).json()
        if job["state"] in TERMINAL or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def children_of(client: TestClient, key: str, job_id: str) -> list[dict[str, Any]]:
    """The job's steps, oldest first."""
    resp = client.get("/v1/jobs", params={"parent_id": job_id}, headers=auth(key))
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return sorted(items, key=lambda j: str(j["created_at"]))


def stored_file(client: TestClient, key: str, project_id: str) -> dict[str, Any]:
    resp = client.get(f"/v1/projects/{project_id}/files/{TESTS_PATH}", headers=auth(key))
    assert resp.status_code == 200, resp.text
    found: dict[str, Any] = resp.json()
    return found


def history(client: TestClient, key: str, project_id: str) -> list[dict[str, Any]]:
    url = f"/v1/projects/{project_id}/files/{TESTS_PATH}/history"
    resp = client.get(url, headers=auth(key))
    assert resp.status_code == 200, resp.text
    return sorted(resp.json()["items"], key=lambda v: int(v["version"]))


def project_with_stored_tests(
    client: TestClient, key: str, root: Path, tests: str, mode: str = "success"
) -> str:
    """A project whose test file is in SPARK's file store (version 1), as patches need."""
    project = create_project(client, key, unity_project(root, tests, mode))
    first = patch(
        client, key, project["id"], {"path": TESTS_PATH, "patch_type": "full", "content": tests}
    )
    assert first["state"] == "succeeded", first
    project_id: str = project["id"]
    return project_id


def breaking(**verify: Any) -> dict[str, Any]:
    return {
        "path": TESTS_PATH,
        "patch_type": "replace",
        "old": GOOD_LINE,
        "new": BAD_LINE,
        "verify": verify,
    }


def test_a_patch_that_breaks_a_test_is_put_back_by_verify_naming_the_failed_step(
    worker: WorkerProcess, builder: WorkerProcess, client: TestClient, api_key: str, tmp_path: Path
) -> None:
    """compile + EditMode tests, a patch that makes a test fail: two steps under the parent,
    the parent fails verification_failed, the file is back at its content before the patch
    (a version by spark/verify naming the test run), and history keeps the rejected one."""
    project_id = project_with_stored_tests(client, api_key, tmp_path / "Breaks", PASSING)
    job = patch(client, api_key, project_id, breaking(compile=True, tests="EditMode"))
    assert job["state"] == "failed", job
    assert job["error"]["code"] == "verification_failed", job["error"]
    steps = children_of(client, api_key, job["id"])
    assert [(s["kind"], s["state"]) for s in steps] == [
        ("compile_check", "succeeded"),
        ("run_tests", "failed"),
    ]
    tests_job = steps[1]
    assert tests_job["error"]["code"] == "tests_failed"
    assert all(s["parent_id"] == job["id"] for s in steps)
    assert job["error"]["details"]["step"] == "tests"
    assert job["error"]["details"]["job_id"] == tests_job["id"]
    verification = job["result"]["verification"]
    assert_result_matches_its_model("apply_patch", job["result"])
    assert verification["failed_step"] == "tests"
    assert verification["compile"]["job_id"] == steps[0]["id"]
    assert verification["tests"]["result"]["failed"] == 1
    assert verification["build"] is None
    assert stored_file(client, api_key, project_id)["content"] == PASSING
    versions = history(client, api_key, project_id)
    assert [v["version"] for v in versions] == [1, 2, 3]
    rejected, restored = versions[1], versions[2]
    assert rejected["job_id"] == job["id"]
    assert restored["author"] == {"user": "spark", "subject": "verify"}
    assert restored["job_id"] == job["id"]
    assert "tests" in restored["message"] and tests_job["id"] in restored["message"]
    assert verification["rolled_back"] == [
        {"path": TESTS_PATH, "version": 3, "deleted": False, "reason": None}
    ]


def test_keep_on_failure_keeps_the_patch_and_still_reports_the_failure(
    worker: WorkerProcess, builder: WorkerProcess, client: TestClient, api_key: str, tmp_path: Path
) -> None:
    project_id = project_with_stored_tests(client, api_key, tmp_path / "Keeps", PASSING)
    job = patch(
        client, api_key, project_id, breaking(compile=True, tests="EditMode", keep_on_failure=True)
    )
    assert job["state"] == "failed", job
    assert job["error"]["code"] == "verification_failed"
    assert job["result"]["verification"]["failed_step"] == "tests"
    assert job["result"]["verification"]["rolled_back"] == []
    assert BAD_LINE in stored_file(client, api_key, project_id)["content"]
    assert [v["version"] for v in history(client, api_key, project_id)] == [1, 2]


def test_a_patch_that_fixes_the_test_passes_all_three_steps_and_builds_the_verified_version(
    worker: WorkerProcess, builder: WorkerProcess, client: TestClient, api_key: str, tmp_path: Path
) -> None:
    """compile + tests + WebGL build: the parent succeeds with each step's evidence, and the
    build (like the tests) ran on the version the patch wrote."""
    broken = PASSING.replace(GOOD_LINE, BAD_LINE)
    project_id = project_with_stored_tests(client, api_key, tmp_path / "Fixes", broken)
    params = {
        "path": TESTS_PATH,
        "patch_type": "replace",
        "old": BAD_LINE,
        "new": GOOD_LINE,
        "verify": {"compile": True, "tests": "EditMode", "build": "WebGL"},
    }
    job = patch(client, api_key, project_id, params, timeout=120)
    assert job["state"] == "succeeded", job
    result = job["result"]
    assert_result_matches_its_model("apply_patch", result)
    verification = result["verification"]
    assert verification["failed_step"] is None
    steps = children_of(client, api_key, job["id"])
    assert [s["kind"] for s in steps] == ["compile_check", "run_tests", "unity_build"]
    assert [verification[name]["job_id"] for name in ("compile", "tests", "build")] == [
        s["id"] for s in steps
    ]
    assert verification["tests"]["result"]["passed"] == 2
    patched = {"path": TESTS_PATH, "version": result["version"], "sha256": result["sha256"]}
    for name in ("tests", "build"):
        assert patched in verification[name]["result"]["files"], name
    assert verification["build"]["result"]["artifacts"], "the build stored no player"
    assert stored_file(client, api_key, project_id)["version"] == 2


def test_canceling_the_parent_stops_its_running_test_step_and_both_end_canceled(
    worker: WorkerProcess,
    builder: WorkerProcess,
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
) -> None:
    project_id = project_with_stored_tests(client, api_key, tmp_path / "Cancel", PASSING, "hang")
    body = {"kind": "apply_patch", "project_id": project_id, "params": breaking(tests="EditMode")}
    resp = client.post("/v1/jobs", json=body, headers=auth(api_key))
    assert resp.status_code == 202, resp.text
    parent_id = resp.json()["id"]
    deadline = time.monotonic() + 30
    while len(processes_mentioning(project_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(processes_mentioning(project_id)) >= 2, "Unity never started the tests"
    (step,) = children_of(client, api_key, parent_id)
    assert step["state"] == "running"
    resp = client.post(f"/v1/jobs/{parent_id}/cancel", headers=auth(api_key))
    assert resp.status_code == 202, resp.text
    assert wait_state(db, step["id"], TERMINAL, timeout=20).state.value == "canceled"
    assert wait_state(db, parent_id, TERMINAL, timeout=20).state.value == "canceled"
    assert wait_no_processes(project_id) == []
    assert stored_file(client, api_key, project_id)["content"] == PASSING


def test_verify_needs_build_permission_and_a_write(
    client: TestClient, api_key: str, db: Database
) -> None:
    """Bad verify input is a 4xx that changes nothing."""
    generate = {
        "kind": "generate_script",
        "params": {"prompt": "a door that opens", "verify": {"compile": True}},
    }
    resp = client.post("/v1/jobs", json=generate, headers=auth(api_key))
    assert resp.status_code == 422, resp.text
    assert "write_to_project" in resp.json()["error"]["message"]
    bad_target = {**generate, "params": {**generate["params"], "verify": {"build": "Amiga"}}}
    assert client.post("/v1/jobs", json=bad_target, headers=auth(api_key)).status_code == 422
    no_build = create_key(db, "alice", Tier.FREE, {Permission.GENERATE, Permission.READ}).token
    preset = {
        "kind": "apply_preset",
        "project_id": str(uuid.uuid4()),
        "params": {"preset_id": "2d-platformer", "verify": {"compile": True}},
    }
    resp = client.post("/v1/jobs", json=preset, headers=auth(no_build))
    assert resp.status_code == 403, resp.text
    assert "spark:build" in resp.json()["error"]["message"]


def test_a_file_the_job_created_is_deleted_when_its_compile_fails(
    worker: WorkerProcess, builder: WorkerProcess, client: TestClient, api_key: str, tmp_path: Path
) -> None:
    """A new script that does not compile: compile_failed in the step, and the path gets a
    tombstone version by spark/verify — listing and content hide it, history shows both."""
    project = create_project(client, api_key, unity_project(tmp_path / "Creates", PASSING))
    path = "Assets/Scripts/Broken.cs"
    content = f"public class Broken {{ int x = {MARKER}; }}\n"
    params = {"path": path, "patch_type": "full", "content": content, "verify": {"compile": True}}
    job = patch(client, api_key, project["id"], params)
    assert job["state"] == "failed", job
    assert job["error"]["code"] == "verification_failed"
    (step,) = children_of(client, api_key, job["id"])
    assert (step["kind"], step["error"]["code"]) == ("compile_check", "compile_failed")
    assert job["result"]["verification"]["rolled_back"] == [
        {"path": path, "version": 2, "deleted": True, "reason": None}
    ]
    url = f"/v1/projects/{project['id']}/files/{path}"
    assert client.get(url, headers=auth(api_key)).status_code == 404
    listed = client.get(f"/v1/projects/{project['id']}/files", headers=auth(api_key)).json()
    assert path not in [f["path"] for f in listed["items"]]
    versions = client.get(f"{url}/history", headers=auth(api_key)).json()["items"]
    by_number = {v["version"]: v for v in versions}
    assert by_number[2]["deleted"] is True
    assert by_number[2]["author"] == {"user": "spark", "subject": "verify"}
    assert by_number[1]["job_id"] == job["id"]


def test_a_verify_is_refused_while_its_owners_builds_fill_the_tier(
    worker: WorkerProcess,
    builder: WorkerProcess,
    client: TestClient,
    db: Database,
    tmp_path: Path,
) -> None:
    """A verify's steps are builds: with the free tier's one build slot held by a running
    step, the next verify is a 429 quota_exceeded that creates nothing."""
    key = create_key(db, f"free-{uuid.uuid4().hex[:6]}", Tier.FREE, DEFAULT_PERMISSIONS).token
    project_id = project_with_stored_tests(client, key, tmp_path / "Slots", PASSING, "hang")
    body = {"kind": "apply_patch", "project_id": project_id, "params": breaking(tests="EditMode")}
    first = client.post("/v1/jobs", json=body, headers=auth(key))
    assert first.status_code == 202, first.text
    deadline = time.monotonic() + 30
    while not children_of(client, key, first.json()["id"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    before = [j["id"] for j in client.get("/v1/jobs", headers=auth(key)).json()["items"]]
    second = client.post("/v1/jobs", json=body, headers=auth(key))
    assert second.status_code == 429, second.text
    assert second.json()["error"]["code"] == "quota_exceeded"
    assert "concurrent builds" in second.json()["error"]["message"]
    after = [j["id"] for j in client.get("/v1/jobs", headers=auth(key)).json()["items"]]
    assert after == before
    client.post(f"/v1/jobs/{first.json()['id']}/cancel", headers=auth(key))
    assert wait_state(db, first.json()["id"], TERMINAL, timeout=20).state.value == "canceled"
