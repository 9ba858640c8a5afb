"""Unity builds on a real build worker, against the Unity stand-in: log, progress, artifacts,
webhooks, failures, time limit and cancel."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fakes.unity import make_unity_project, processes_mentioning
from spark.config import Settings
from spark.db import audit as audit_queries
from spark.db.executor import Database
from spark.domain.files import Author, sha256_of
from spark.domain.principals import Permission, Tier
from spark.projects import files
from spark.security.apikeys import create_key
from tests.support.builds import WebhookReceiver, builds_only_worker, wait_no_processes
from tests.support.jobs import TERMINAL, assert_result_matches_its_model, auth, wait_state
from tests.support.workers import WorkerProcess


@pytest.fixture(scope="module")
def build_worker(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A builds-only worker, one build at a time, with the Unity stand-in as its editor."""
    proc = builds_only_worker(
        settings, tmp_path_factory.mktemp("build-worker"), SPARK_BUILD_KILL_GRACE_S="2"
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A Unity project whose builds succeed, slowly enough to watch."""
    return make_unity_project(tmp_path / "Game")


def create_project(
    client: TestClient, key: str, source: Path, webhooks: list[str] | None = None
) -> dict[str, Any]:
    body = {
        "name": source.name + source.parent.name[-8:],
        "source_dir": str(source),
        "webhooks": [{"url": url} for url in webhooks or []],
    }
    resp = client.post("/v1/projects", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    project: dict[str, Any] = resp.json()
    return project


def submit_build(
    client: TestClient, key: str, project_id: str, target: str = "WebGL", **params: Any
) -> str:
    body = {"kind": "unity_build", "project_id": project_id, "params": {"target": target, **params}}
    resp = client.post("/v1/jobs", json=body, headers=auth(key))
    assert resp.status_code == 202, resp.text
    job_id: str = resp.json()["id"]
    return job_id


TERMINAL_EVENTS = {"completed", "failed", "canceled", "timeout"}


def events_of(client: TestClient, key: str, job_id: str) -> list[dict[str, Any]]:
    """The job's stored events once its terminal event is among them: events reach the store
    through NATS and the consumer, so an ended job's last event may still be on its way."""
    deadline = time.monotonic() + 15
    while True:
        resp = client.get(f"/v1/jobs/{job_id}/events", headers=auth(key))
        items: list[dict[str, Any]] = resp.json()["items"]
        if any(e["type"] in TERMINAL_EVENTS for e in items) or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def test_webgl_build_streams_progress_serves_its_log_keeps_its_artifact_and_calls_webhooks(
    build_worker: WorkerProcess,
    worker: WorkerProcess,
    client: TestClient,
    api_key: str,
    db: Database,
    project_dir: Path,
) -> None:
    """The whole happy path of a build, as a user of the API sees it."""
    with WebhookReceiver() as receiver:
        project = create_project(client, api_key, project_dir, [receiver.url])
        secret = project["webhooks"][0]["secret"]
        job_id = submit_build(client, api_key, project["id"], development=True)
        job = wait_state(db, job_id, TERMINAL, timeout=60)
        assert job.state.value == "succeeded", job.error
        result = dict(job.result or {})
        assert result["result"] == "succeeded" and result["exit_code"] == 0
        assert_result_matches_its_model("unity_build", result)
        assert result["warning_count"] == 1 and result["errors"] == []

        events = events_of(client, api_key, job_id)
        types = [e["type"] for e in events]
        assert types[0] == "started" and types[-1] == "completed", types
        percents = [e["data"]["percent"] for e in events if e["type"] == "progress"]
        assert len(percents) >= 2 and percents == sorted(percents), percents

        log = client.get(f"/v1/jobs/{job_id}/log", headers=auth(api_key))
        lines = log.text.splitlines()
        assert log.headers["x-log-complete"] == "true"
        assert "Build Finished, Result: Success." in lines
        tail = client.get(f"/v1/jobs/{job_id}/log?offset_lines=10", headers=auth(api_key))
        assert tail.text.splitlines() == lines[10:]
        assert int(tail.headers["x-next-offset"]) == len(lines)
        compact = client.get(f"/v1/jobs/{job_id}/log?compact=true", headers=auth(api_key))
        assert [line for line in compact.text.splitlines() if "warning CS0414" in line]
        assert "Building scene 0: Assets/Scenes/Main.unity" not in compact.text

        listed = client.get(f"/v1/jobs/{job_id}/artifacts", headers=auth(api_key)).json()["items"]
        assert len(listed) == 1 and listed[0]["name"].endswith(".zip")
        download = client.get(listed[0]["href"], headers=auth(api_key))
        assert hashlib.sha256(download.content).hexdigest() == listed[0]["sha256"]
        assert len(download.content) == listed[0]["size"]
        names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
        assert any(name.endswith("index.html") for name in names), names

        [got] = receiver.wait_for(1)
        expected = "sha256=" + hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(got.headers["x-spark-signature-256"], expected)
        delivered = json.loads(got.body)
        assert delivered["job"]["id"] == job_id and delivered["job"]["state"] == "succeeded"
    deliveries = client.get(f"/v1/projects/{project['id']}/deliveries", headers=auth(api_key))
    assert [d["ok"] for d in deliveries.json()["items"]] == [True]


COIN = "Assets/Scripts/Coin.cs"
GEM = "Assets/Scripts/Gem.cs"


def test_a_build_compiles_the_projects_newest_file_versions_laid_over_its_source(
    build_worker: WorkerProcess,
    worker: WorkerProcess,
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
) -> None:
    """Files written into SPARK, by a write and by an apply_patch job, replace the source's
    in the workspace Unity builds (the stand-in logs each file's hash), and the result names
    each version built."""
    original, changed, newest, gem = (
        b"class Coin { int value = 1; }\n",
        b"class Coin { int value = 5; }\n",
        b"class Coin { int value = 10; }\n",
        b"class Gem {}\n",
    )
    source = make_unity_project(tmp_path / "Overlaid", manifest=True)
    (source / "Assets" / "Scripts").mkdir()
    (source / COIN).write_bytes(original)
    project = create_project(client, api_key, source)
    project_id, alice = uuid.UUID(project["id"]), Author("alice")
    files.write(db, project_id, COIN, changed, alice, "worth more")
    patch = {
        "kind": "apply_patch",
        "project_id": project["id"],
        "params": {
            "path": COIN,
            "patch_type": "replace",
            "old": "value = 5;",
            "new": "value = 10;",
            "base_version": 1,
        },
    }
    patched = client.post("/v1/jobs", json=patch, headers=auth(api_key)).json()["id"]
    assert wait_state(db, patched, TERMINAL).state.value == "succeeded"
    files.write(db, project_id, GEM, gem, alice, "a new script")

    job = wait_state(db, submit_build(client, api_key, project["id"]), TERMINAL, timeout=60)
    assert job.state.value == "succeeded", job.error
    built = built_hashes(client, api_key, str(job.id))
    assert {path: built[path] for path in built if path.startswith("Assets/Scripts/")} == {
        COIN: sha256_of(newest),
        GEM: sha256_of(gem),
    }
    assert built["Assets/Scenes/Main.unity"] == sha256_of(b"%YAML 1.1\n")
    result = dict(job.result or {})
    assert result["files"] == [
        {"path": COIN, "version": 2, "sha256": sha256_of(newest)},
        {"path": GEM, "version": 1, "sha256": sha256_of(gem)},
    ]
    assert_result_matches_its_model("unity_build", result)
    # The source is the user's: the overlay lives only in the workspace.
    assert (source / COIN).read_bytes() == original

    files.write(db, project_id, COIN, original, alice, "back to one")
    again = wait_state(db, submit_build(client, api_key, project["id"]), TERMINAL, timeout=60)
    assert again.state.value == "succeeded", again.error
    assert built_hashes(client, api_key, str(again.id))[COIN] == sha256_of(original)
    assert dict(again.result or {})["files"][0] == {
        "path": COIN,
        "version": 3,
        "sha256": sha256_of(original),
    }


def built_hashes(client: TestClient, key: str, job_id: str) -> dict[str, str]:
    """What the Unity stand-in found under Assets/ in its workspace: path to sha256."""
    log = client.get(f"/v1/jobs/{job_id}/log", headers=auth(key)).text.splitlines()
    listed = [line.split() for line in log if line.startswith("[FakeUnity] file ")]
    return {words[2]: words[3].removeprefix("sha256=") for words in listed}


@pytest.mark.parametrize("mode", ["compile_error", "result_failed_exit0"])
def test_a_failed_build_ends_failed_with_its_errors_parsed(
    build_worker: WorkerProcess,
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
    mode: str,
) -> None:
    """exit 101 with `error CS0103`, or `Result: Failed` with exit 0: both are failures."""
    project = create_project(client, api_key, make_unity_project(tmp_path / mode, mode))
    job_id = submit_build(client, api_key, project["id"], target="StandaloneLinux64")
    job = wait_state(db, job_id, TERMINAL, timeout=60)
    assert job.state.value == "failed" and job.error is not None
    assert job.error.code == "build_failed"
    result = dict(job.result or {})
    assert result["result"] == "failed" and result["artifacts"] == []
    if mode == "compile_error":
        assert result["exit_code"] == 101
        error = result["errors"][0]
        assert (error["file"], error["line"], error["column"], error["code"]) == (
            "Assets/Scripts/Player.cs",
            12,
            5,
            "CS0103",
        )
    else:
        assert result["exit_code"] == 0


def test_a_hanging_build_is_stopped_at_its_limit_with_nothing_left_running(
    build_worker: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """timed_out, a timeout event, and no process of Unity's tree in the process table."""
    source = make_unity_project(tmp_path / "Hangs", "hang")
    project = create_project(client, api_key, source)
    job_id = submit_build(client, api_key, project["id"], timeout_s=3)
    started = time.monotonic()
    job = wait_state(db, job_id, TERMINAL, timeout=40)
    assert job.state.value == "timed_out", job.error
    assert time.monotonic() - started < 30
    assert job.error is not None and job.error.code == "time_limit_exceeded"
    assert events_of(client, api_key, job_id)[-1]["type"] == "timeout"
    # The workspace (and so every Unity process's command line) is named for the project.
    assert wait_no_processes(project["id"]) == []


def test_cancel_stops_a_running_build_within_seconds(
    build_worker: WorkerProcess, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """Cancel while Unity runs: `canceled` within 10 s and no Unity process left."""
    project = create_project(client, api_key, make_unity_project(tmp_path / "Cancel", "hang"))
    job_id = submit_build(client, api_key, project["id"])
    wait_state(db, job_id, {"running"}, timeout=30)
    deadline = time.monotonic() + 20
    while len(processes_mentioning(project["id"])) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(processes_mentioning(project["id"])) >= 2, "Unity and its helper never started"
    asked = time.monotonic()
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=auth(api_key)).status_code == 202
    job = wait_state(db, job_id, TERMINAL, timeout=15)
    assert job.state.value == "canceled"
    assert time.monotonic() - asked < 10
    assert wait_no_processes(project["id"]) == []
    assert events_of(client, api_key, job_id)[-1]["type"] == "canceled"


def test_unity_build_needs_the_build_permission(
    client: TestClient, db: Database, project_dir: Path
) -> None:
    """Without spark:build a build is 403 (and audited); with it, 202."""
    without = create_key(db, "carol", Tier.PRO, {Permission.READ, Permission.GENERATE}).token
    holder = create_key(db, "carol", Tier.PRO, {Permission.READ, Permission.BUILD}).token
    project = create_project(client, holder, project_dir)
    body = {"kind": "unity_build", "project_id": project["id"], "params": {"target": "WebGL"}}
    refused = client.post("/v1/jobs", json=body, headers=auth(without))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert client.post("/v1/jobs", json=body, headers=auth(holder)).status_code == 202
    with db.transaction() as tx:
        actions = [
            e.action for e in audit_queries.entries(tx, audit_queries.AuditFilters(actor="carol"))
        ]
    assert "permission.denied" in actions


def test_another_user_finds_none_of_a_users_build_resources(
    build_worker: WorkerProcess,
    worker: WorkerProcess,
    client: TestClient,
    api_key: str,
    other_key: str,
    db: Database,
    project_dir: Path,
) -> None:
    """Jobs, events, logs, artifacts, projects, deliveries, usage: 404 or absent for user B."""
    with WebhookReceiver() as receiver:
        project = create_project(client, api_key, project_dir, [receiver.url])
        job_id = submit_build(client, api_key, project["id"])
        assert wait_state(db, job_id, TERMINAL, timeout=60).state.value == "succeeded"
        receiver.wait_for(1)
    artifact = client.get(f"/v1/jobs/{job_id}/artifacts", headers=auth(api_key)).json()["items"][0]
    mine = auth(api_key)
    theirs = auth(other_key)
    urls = [
        f"/v1/jobs/{job_id}",
        f"/v1/jobs/{job_id}/events",
        f"/v1/jobs/{job_id}/log",
        f"/v1/jobs/{job_id}/artifacts",
        artifact["href"],
        f"/v1/projects/{project['id']}",
        f"/v1/projects/{project['id']}/deliveries",
    ]
    for url in urls:
        assert client.get(url, headers=mine).status_code == 200, url
        assert client.get(url, headers=theirs).status_code == 404, url
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=theirs).status_code == 404
    stolen = {"kind": "unity_build", "project_id": project["id"], "params": {"target": "WebGL"}}
    assert client.post("/v1/jobs", json=stolen, headers=theirs).status_code == 404
    assert client.get("/v1/jobs", headers=theirs).json()["items"] == []
    assert client.get("/v1/projects", headers=theirs).json()["items"] == []
    usage = client.get("/v1/usage", headers=theirs).json()
    assert usage["user"] == "mallory" and usage["month"]["jobs"] == 0
    assert client.get("/v1/usage", headers=mine).json()["month"]["jobs"] == 1
