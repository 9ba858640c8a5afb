"""`spark patch --verify` against a real API, a worker for the patch and a builds-only worker
running the Unity stand-in: each step shown with its child job's id, kind and outcome as it
ends, then the patch's end, and the exit code `spark jobs wait` gives."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from fakes.unity import make_unity_project
from fakes.unity_compile import MARKER
from spark.cli import app as cli_app
from spark.cli.jobs import EXIT_CODES
from spark.config import Settings
from tests.acceptance.test_builds import create_project
from tests.support.builds import builds_only_worker
from tests.support.jobs import auth
from tests.support.workers import ApiProcess, WorkerProcess

SCRIPT = "Assets/Scripts/Coin.cs"
CLEAN = "public class Coin : UnityEngine.MonoBehaviour {}\n"
TEST_ASMDEF = {
    "name": "Coins.Tests",
    "references": ["UnityEngine.TestRunner", "UnityEditor.TestRunner"],
    "includePlatforms": ["Editor"],
    "precompiledReferences": ["nunit.framework.dll"],
}
COIN_TESTS = """using NUnit.Framework;

public class CoinTests
{
    [Test]
    public void Spins()
    {
        Assert.AreEqual(2, 1 + 1);
    }
}
"""
#: a step's line: its kind, its job id and how it ended
STEP = re.compile(r"^\s+(compile_check|run_tests|unity_build) ([0-9a-f-]{36}) (\w+)", re.M)


@pytest.fixture(scope="module")
def workers(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[WorkerProcess, WorkerProcess]]:
    """A worker for the patch and its continuation, and a builds-only worker with the Unity
    stand-in as its editor for the steps."""
    patches = WorkerProcess(settings, tmp_path_factory.mktemp("patch-worker"))
    builder = builds_only_worker(settings, tmp_path_factory.mktemp("verify-builder"))
    patches.start()
    builder.start()
    yield patches, builder
    builder.stop()
    patches.stop()


def coin_project(root: Path) -> Path:
    """A Unity project with one passing EditMode test and the script the patches rewrite."""
    project = make_unity_project(root, "success", delay_s=0.005)
    tests = project / "Assets" / "Tests"
    tests.mkdir(parents=True)
    (tests / "Coins.Tests.asmdef").write_text(json.dumps(TEST_ASMDEF), encoding="utf-8")
    (tests / "CoinTests.cs").write_text(COIN_TESTS, encoding="utf-8")
    return project


def spark_patch(api: ApiProcess, key: str, project: str, content: Path, verify: str) -> Any:
    env = {"SPARK_API_URL": api.url, "SPARK_API_KEY": key, "COLUMNS": "200"}
    args = ["patch", project, SCRIPT, "--full", str(content), "--verify", verify, "--wait"]
    return CliRunner().invoke(cli_app, args, env=env)


def children_of(client: TestClient, key: str, job_id: str) -> dict[str, dict[str, Any]]:
    """The job's children by id, read through GET /v1/jobs?parent_id=."""
    resp = client.get("/v1/jobs", params={"parent_id": job_id}, headers=auth(key))
    assert resp.status_code == 200, resp.text
    return {child["id"]: child for child in resp.json()["items"]}


def parent_of(client: TestClient, key: str, child_id: str) -> dict[str, Any]:
    child = client.get(f"/v1/jobs/{child_id}", headers=auth(key)).json()
    parent: dict[str, Any] = client.get(f"/v1/jobs/{child['parent_id']}", headers=auth(key)).json()
    return parent


def test_a_verified_patch_shows_its_compile_and_test_steps_then_its_version(
    workers: tuple[WorkerProcess, WorkerProcess],
    api_server: ApiProcess,
    client: TestClient,
    api_key: str,
    tmp_path: Path,
) -> None:
    """`--verify compile,tests --wait`: the compile_check then the run_tests step, each with
    its child job's id, then the file's new version; exit 0."""
    project = create_project(client, api_key, coin_project(tmp_path / "Coins"))
    content = tmp_path / "Coin.cs"
    content.write_text(CLEAN, encoding="utf-8")
    out = spark_patch(api_server, api_key, project["name"], content, "compile,tests")
    assert out.exit_code == EXIT_CODES["succeeded"], out.output
    steps = STEP.findall(out.stdout)
    assert [(kind, state) for kind, _, state in steps] == [
        ("compile_check", "succeeded"),
        ("run_tests", "succeeded"),
    ], out.stdout
    parent = parent_of(client, api_key, steps[0][1])
    assert parent["kind"] == "apply_patch" and parent["state"] == "succeeded"
    assert parent["params"]["verify"] == {
        "compile": True,
        "tests": "EditMode",
        "build": None,
        "keep_on_failure": False,
    }
    children = children_of(client, api_key, parent["id"])
    assert {child_id: c["kind"] for child_id, c in children.items()} == {
        steps[0][1]: "compile_check",
        steps[1][1]: "run_tests",
    }
    assert f"{SCRIPT} version 1" in out.stdout
    assert "verification passed: compile succeeded, tests succeeded" in out.stdout
    # the steps come before the patch's end
    assert out.stdout.index(steps[1][1]) < out.stdout.index(f"{SCRIPT} version 1")


def test_a_patch_that_does_not_compile_shows_the_failed_step_and_exits_as_a_failed_job(
    workers: tuple[WorkerProcess, WorkerProcess],
    api_server: ApiProcess,
    client: TestClient,
    api_key: str,
    tmp_path: Path,
) -> None:
    """A script holding the stand-in's compile-error marker: the compile_check step fails
    compile_failed, no test step runs, the patch fails verification_failed and says what it
    put back; exit 1."""
    project = create_project(client, api_key, coin_project(tmp_path / "Broken"))
    content = tmp_path / "Coin.cs"
    content.write_text(f"public class Coin {{\n    // {MARKER}\n}}\n", encoding="utf-8")
    out = spark_patch(api_server, api_key, project["name"], content, "compile,tests")
    assert out.exit_code == EXIT_CODES["failed"], out.output
    steps = STEP.findall(out.stdout)
    assert [(kind, state) for kind, _, state in steps] == [("compile_check", "failed")]
    assert "compile_failed" in out.stdout
    assert "verification_failed" in out.stdout
    # the script did not exist before the patch: putting it back removes it
    assert f"removed {SCRIPT}" in out.stdout
    parent = parent_of(client, api_key, steps[0][1])
    assert (parent["state"], parent["error"]["code"]) == ("failed", "verification_failed")
    assert list(children_of(client, api_key, parent["id"])) == [steps[0][1]]
