"""`run_tests` on a real build worker against the Unity stand-in: NUnit results, a progress
event per test, hostile results files, and cancel stopping the process tree."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from fakes.unity import make_unity_project, processes_mentioning
from fakes.unity_compile import MARKER
from spark.cli import app as cli_app
from spark.cli.jobs import EXIT_CODES
from spark.config import Settings
from spark.db.executor import Database
from spark.events.envelope import decode_event
from tests.acceptance.test_builds import create_project
from tests.support.builds import builds_only_worker, wait_no_processes
from tests.support.jobs import TERMINAL, assert_result_matches_its_model, auth, wait_state
from tests.support.nats import Subscriber
from tests.support.services import free_port
from tests.support.workers import ApiProcess, WorkerProcess

TEST_ASMDEF = {
    "name": "Shop.Tests",
    "references": ["UnityEngine.TestRunner", "UnityEditor.TestRunner"],
    "includePlatforms": ["Editor"],
    "overrideReferences": True,
    "precompiledReferences": ["nunit.framework.dll"],
    "defineConstraints": ["UNITY_INCLUDE_TESTS"],
}
CART_TESTS = (
    """using NUnit.Framework;

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
        [Ignore("stub missing")]
        public void Refund()
        {
        }

        // padding so the failing assertion sits where the acceptance names it
"""
    + "\n" * 8
    + """        [Test]
        public void Discount()
        {
            Assert.Fail("Expected: 90 But was: 100");
        }
    }
}
"""
)


@pytest.fixture(scope="module")
def runner(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """A builds-only worker with the Unity stand-in as its editor."""
    proc = builds_only_worker(
        settings, tmp_path_factory.mktemp("test-worker"), SPARK_BUILD_KILL_GRACE_S="2"
    )
    proc.start()
    yield proc
    proc.stop()


def project_with_tests(root: Path, mode: str = "success", results: str = "") -> Path:
    """A Unity project with an EditMode test assembly holding Shop.Cart's three tests."""
    project = make_unity_project(root, mode, delay_s=0.01)
    tests = project / "Assets" / "Tests"
    tests.mkdir(parents=True)
    (tests / "Shop.Tests.asmdef").write_text(json.dumps(TEST_ASMDEF), encoding="utf-8")
    (tests / "X.cs").write_text(CART_TESTS, encoding="utf-8")
    if results:
        (project / ".fake-unity-results").write_text(results, encoding="utf-8")
    return project


def submit_tests(
    client: TestClient, key: str, project_id: str, session: str = "default", **params: Any
) -> str:
    body = {
        "kind": "run_tests",
        "project_id": project_id,
        "params": {"platform": "EditMode", **params},
        "session_id": session,
    }
    resp = client.post("/v1/jobs", json=body, headers=auth(key))
    assert resp.status_code == 202, resp.text
    job_id: str = resp.json()["id"]
    return job_id


def job_of(client: TestClient, key: str, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=auth(key)).json()
    return body


def test_a_failing_test_fails_the_job_naming_its_file_and_line_with_an_event_per_test(
    runner: WorkerProcess,
    settings: Settings,
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
) -> None:
    """1 passed, 1 failed at Assets/Tests/X.cs:31, 1 ignored: tests_failed, the result kept,
    the XML stored, and a NATS subscriber of its own sees a progress event per test."""
    project = create_project(client, api_key, project_with_tests(tmp_path / "Shop"))
    session = f"tests-{uuid.uuid4().hex[:6]}"
    sub = Subscriber(settings.require("nats_url"), f"spark.build.unity.*.{session}")
    sub.start()
    job_id = submit_tests(client, api_key, project["id"], session)
    assert wait_state(db, job_id, TERMINAL, timeout=60).state.value == "failed"
    deadline = time.monotonic() + 10
    while not any(b'"failed"' in d for _, d in sub.messages) and time.monotonic() < deadline:
        time.sleep(0.05)
    sub.stop()
    job = job_of(client, api_key, job_id)
    assert job["error"]["code"] == "tests_failed", job["error"]
    result = job["result"]
    assert_result_matches_its_model("run_tests", result)
    assert (result["passed"], result["failed"], result["skipped"]) == (1, 1, 1)
    (failure,) = result["failures"]
    assert failure["fullname"] == "Shop.Cart.Discount"
    assert (failure["file"], failure["line"]) == ("Assets/Tests/X.cs", 31)
    assert failure["message"] == "Expected: 90 But was: 100"
    assert [a["name"] for a in result["artifacts"]] == ["editmode-results.xml"]
    events = [decode_event(data, subject) for subject, data in sub.messages]
    per_test = [e.data for e in events if e.type.value == "progress" and "test" in e.data]
    assert [(d["test"], d["percent"]) for d in per_test] == [
        ("Shop.Cart.Adds", 33),
        ("Shop.Cart.Refund", 66),
        ("Shop.Cart.Discount", 100),
    ]


@pytest.mark.parametrize(
    ("hostile", "says"),
    [
        ("entity", "refused"),
        ("huge", "over the"),
        ("missing", "no results file"),
        ("truncated", "not well-formed"),
    ],
)
def test_a_hostile_results_file_fails_the_job_and_the_worker_goes_on(
    runner: WorkerProcess,
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
    hostile: str,
    says: str,
) -> None:
    """Entity bomb, 50 MB, missing, truncated: test_results_invalid, and the next job runs."""
    source = project_with_tests(tmp_path / f"Hostile{hostile}", results=hostile)
    project = create_project(client, api_key, source)
    job_id = submit_tests(client, api_key, project["id"])
    assert wait_state(db, job_id, TERMINAL, timeout=60).state.value == "failed"
    job = job_of(client, api_key, job_id)
    assert job["error"]["code"] == "test_results_invalid", job["error"]
    assert says in job["error"]["message"]
    assert job["result"]["result"] == "error"
    assert runner.proc is not None and runner.proc.poll() is None


def test_cancel_stops_the_test_run_and_its_process_tree(
    runner: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """Cancel while Unity runs the tests: `canceled` and no Unity process left."""
    project = create_project(client, api_key, project_with_tests(tmp_path / "Cancel", "hang"))
    job_id = submit_tests(client, api_key, project["id"])
    wait_state(db, job_id, {"running"}, timeout=30)
    deadline = time.monotonic() + 20
    while len(processes_mentioning(project["id"])) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(processes_mentioning(project["id"])) >= 2, "Unity and its helper never started"
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=auth(api_key)).status_code == 202
    assert wait_state(db, job_id, TERMINAL, timeout=15).state.value == "canceled"
    assert wait_no_processes(project["id"]) == []


def test_a_run_past_its_timeout_is_stopped_with_its_process_tree(
    runner: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """timeout_s passed while Unity hangs: `timed_out`, and no Unity process left."""
    project = create_project(client, api_key, project_with_tests(tmp_path / "Slow", "hang"))
    job_id = submit_tests(client, api_key, project["id"], timeout_s=2)
    assert wait_state(db, job_id, TERMINAL, timeout=30).state.value == "timed_out"
    assert job_of(client, api_key, job_id)["result"]["result"] == "error"
    assert wait_no_processes(project["id"]) == []


def test_a_filter_that_matches_nothing_fails_no_tests_matched(
    runner: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """Unity exits 0 when no test matched; SPARK says so instead of passing the run."""
    project = create_project(client, api_key, project_with_tests(tmp_path / "None"))
    job_id = submit_tests(client, api_key, project["id"], filter="Shop.Nothing")
    assert wait_state(db, job_id, TERMINAL, timeout=60).state.value == "failed"
    job = job_of(client, api_key, job_id)
    assert job["error"]["code"] == "no_tests_matched"
    assert job["result"]["total"] == 0


def test_a_run_whose_tests_pass_succeeds_with_its_counts(
    runner: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """Only the passing test selected: `succeeded`, 1 of 1 passed, the XML stored."""
    project = create_project(client, api_key, project_with_tests(tmp_path / "Green"))
    job_id = submit_tests(client, api_key, project["id"], filter="Shop.Cart.Adds")
    assert wait_state(db, job_id, TERMINAL, timeout=60).state.value == "succeeded"
    result = job_of(client, api_key, job_id)["result"]
    assert (result["result"], result["total"], result["passed"]) == ("passed", 1, 1)
    assert [a["name"] for a in result["artifacts"]] == ["editmode-results.xml"]


def test_a_script_that_does_not_compile_fails_the_run_naming_the_compiler_error(
    runner: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """Unity exits 3 (run error) on compile errors: test_run_error with the first `error CS`."""
    source = project_with_tests(tmp_path / "Broken")
    broken = source / "Assets" / "Scripts" / "Broken.cs"
    broken.parent.mkdir(parents=True)
    broken.write_text(f"// {MARKER}\npublic class Broken {{}}\n", encoding="utf-8")
    project = create_project(client, api_key, source)
    job_id = submit_tests(client, api_key, project["id"])
    assert wait_state(db, job_id, TERMINAL, timeout=60).state.value == "failed"
    job = job_of(client, api_key, job_id)
    assert job["error"]["code"] == "test_run_error", job["error"]
    assert "Assets/Scripts/Broken.cs(1,4): CS1029" in job["error"]["message"]
    assert job["result"]["exit_code"] == 3


def test_spark_test_runs_the_tests_and_prints_each_failure_at_file_and_line(
    runner: WorkerProcess,
    settings: Settings,
    client: TestClient,
    api_key: str,
    tmp_path: Path,
) -> None:
    """`spark test PROJECT --platform EditMode --filter … --follow` against a real API: it
    submits run_tests with those params, follows it, prints the failure at file:line and
    exits as `spark jobs wait` does for a failed job."""
    project = create_project(client, api_key, project_with_tests(tmp_path / "CliShop"))
    api = ApiProcess(settings, tmp_path, free_port())
    api.start()
    try:
        env = {"SPARK_API_URL": api.url, "SPARK_API_KEY": api_key, "COLUMNS": "200"}
        args = ["test", project["name"], "--platform", "EditMode", "--filter", "Shop.Cart.Discount"]
        out = CliRunner().invoke(cli_app, [*args, "--follow"], env=env)
    finally:
        api.stop()
    assert out.exit_code == EXIT_CODES["failed"], out.output
    assert "Assets/Tests/X.cs:31" in out.stdout and "tests_failed" in out.stdout
    found = re.search(r"tests ([0-9a-f-]{36}) ", out.stdout)
    assert found is not None, out.stdout
    job = job_of(client, api_key, found.group(1))
    assert (job["kind"], job["state"]) == ("run_tests", "failed")
    assert job["params"]["platform"] == "EditMode"
    assert job["params"]["filter"] == "Shop.Cart.Discount"
