"""`make run`'s service on the embedded default: the printed examples work as pasted."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fakes.unity import make_unity_project, write_launcher
from spark.engines.unity.csharp import check_syntax
from tests.support.databases import fresh_database
from tests.support.services import free_port
from tests.support.stack import Up


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """`spark up` in an empty directory with no SPARK_* configuration but the Unity stand-in;
    its user's home is the tests' temporary folder, where their projects lie."""
    workdir = tmp_path_factory.mktemp("embedded")
    unity = write_launcher(workdir.parent / f"{workdir.name}-unity")
    home = str(tmp_path_factory.getbasetemp())
    stack = Up(workdir, free_port(), SPARK_UNITY_PATH=str(unity), HOME=home)
    try:
        yield stack
        assert stack.proc.poll() is None, "spark up stopped early:\n" + stack.errors()
    finally:
        stack.stop()


def test_up_prints_url_key_and_examples(up: Up) -> None:
    """The output names the API's URL and a fresh spk_ key, used by both examples."""
    text = "".join(up.lines)
    assert up.url in text
    key = re.search(r"API key: (spk_[a-f0-9]{16}_\S+)", text)
    assert key is not None
    assert key.group(1) in up.line_after("with curl") and key.group(1) in up.line_after("CLI")


def test_the_printed_curl_completes_a_job_within_two_seconds(up: Up) -> None:
    """Pasting the curl line submits a generate_script job that succeeds within 2 s with valid C#."""
    curl = up.line_after("with curl")
    started = time.monotonic()
    out = subprocess.run(curl, shell=True, capture_output=True, text=True, check=True).stdout
    job = json.loads(out)
    key = re.search(r"Bearer (spk_\S+?)'", curl)
    assert key is not None
    headers = {"Authorization": f"Bearer {key.group(1)}"}
    while job["state"] not in {"succeeded", "failed", "canceled", "timed_out"}:
        assert time.monotonic() - started < 2.0, job
        time.sleep(0.02)
        job = httpx.get(f"{up.url}/v1/jobs/{job['id']}", headers=headers).json()
    assert time.monotonic() - started < 2.0
    assert job["state"] == "succeeded", job
    assert job["result"]["class_name"] == "PlayerController"
    assert check_syntax(job["result"]["code"]) == ()


def test_the_printed_cli_line_waits_for_the_script(up: Up) -> None:
    """Pasting the `spark submit … --wait` line exits 0 and prints the generated class."""
    cli = up.line_after("CLI")
    done = subprocess.run(cli, shell=True, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout
    assert "public class PlayerController : MonoBehaviour" in done.stdout


def run_cli(up: Up, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `spark …` as a user would, against the running service with its printed key."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_")}
    env.update(SPARK_API_URL=up.url, SPARK_API_KEY=up.key)
    spark = Path(sys.executable).parent / "spark"
    return subprocess.run([str(spark), *args], env=env, capture_output=True, text=True, timeout=60)


def test_cli_lists_shows_waits_and_refuses_to_cancel_a_finished_job(up: Up) -> None:
    """`spark jobs list|show|wait|cancel --json` print JSON; cancelling a finished job exits 2 with 409."""
    submitted = run_cli(
        up, "submit", "generate_script", "--param", "prompt=a lamp that flickers at night", "--json"
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = json.loads(submitted.stdout)["id"]
    waited = run_cli(up, "jobs", "wait", job_id, "--json")
    assert waited.returncode == 0 and json.loads(waited.stdout)["state"] == "succeeded"
    shown = json.loads(run_cli(up, "jobs", "show", job_id, "--json").stdout)
    assert shown["id"] == job_id and shown["result"]["class_name"]
    listed = json.loads(run_cli(up, "jobs", "list", "--json", "--limit", "100").stdout)
    assert job_id in [j["id"] for j in listed["items"]]
    cancel = run_cli(up, "jobs", "cancel", job_id, "--json")
    assert cancel.returncode == 2
    assert json.loads(cancel.stdout)["error"]["code"] == "job_not_cancelable"


def test_cli_reports_a_bad_param_as_the_api_does(up: Up) -> None:
    """A 422 from the API reaches the user with the field it names, and exit code 2."""
    bad = run_cli(up, "submit", "generate_script", "--param", "prompt=short", "--json")
    assert bad.returncode == 2
    error = json.loads(bad.stdout)["error"]
    assert error["status"] == 422 and error["details"]["field"] == "params.prompt"


def test_cli_builds_a_project_following_its_progress_and_log(up: Up, tmp_path: Path) -> None:
    """`spark projects create` then `spark build … --follow`: the log tail, the result, exit 0;
    `spark jobs logs --compact` shows only the warning. A project lies in the user's home."""
    elsewhere = run_cli(up, "projects", "create", "Etc", "--dir", "/etc", "--json")
    assert elsewhere.returncode == 2, elsewhere.stdout
    assert "SPARK_SOURCE_ROOTS" in json.loads(elsewhere.stdout)["error"]["message"]
    source = make_unity_project(tmp_path / "Demo")
    editor = ["--unity-mcp-url", "http://localhost:8080/mcp", "--unity-instance", "Demo@a1b2c3d4"]
    made = run_cli(up, "projects", "create", "Demo", "--dir", str(source), *editor, "--json")
    assert made.returncode == 0, made.stderr
    project = json.loads(made.stdout)
    assert (project["unity_mcp_url"], project["unity_instance"]) == (
        "http://localhost:8080/mcp",
        "Demo@a1b2c3d4",
    )
    built = run_cli(up, "build", "Demo", "--target", "WebGL", "--follow")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "Build Finished, Result: Success." in built.stderr
    assert "succeeded" in built.stdout and "Demo-WebGL.zip" in built.stdout
    job_id = re.search(r"build (\S+) succeeded", built.stdout)
    assert job_id is not None
    compact = run_cli(up, "jobs", "logs", job_id.group(1), "--compact")
    assert compact.returncode == 0 and "warning CS0414" in compact.stdout
    assert "Building scene" not in compact.stdout


@pytest.fixture
def keys_database() -> Iterator[str]:
    """An empty database on the suite's Postgres, for the key commands to migrate and use."""
    with fresh_database("spark_keys") as url:
        yield url


def test_keys_create_prints_the_contract_json(keys_database: str) -> None:
    """`spark keys create --json` prints key, user, tier and permissions; list shows it, revoke ends it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_")}
    env["SPARK_DATABASE_URL"] = keys_database
    spark = str(Path(sys.executable).parent / "spark")
    subprocess.run([spark, "migrate"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [
            spark,
            "keys",
            "create",
            "--user",
            "ci-bot",
            "--tier",
            "enterprise",
            "--permissions",
            "spark:read,spark:build",
            "--json",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    made = json.loads(out)
    assert made["key"].startswith("spk_") and made["user"] == "ci-bot"
    assert made["tier"] == "enterprise" and made["permissions"] == ["spark:build", "spark:read"]
    listed = json.loads(
        subprocess.run(
            [spark, "keys", "list", "--json"], env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    assert [k["user"] for k in listed] == ["ci-bot"] and made["key"] not in json.dumps(listed)
    revoked = subprocess.run(
        [spark, "keys", "revoke", listed[0]["key_id"], "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["revoked"] is True
