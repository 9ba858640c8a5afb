"""GET /v1/farm: who may read it, whose job id it shows; `spark worker --targets`; a builder's
heartbeat; a build for a target no builder declares waits, saying so, until one does."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from fakes.unity import make_unity_project
from spark.cli import app as cli_app
from spark.config import Settings
from spark.db.executor import Database
from spark.domain.farm import BuilderBeat, RunningJob
from spark.domain.principals import Permission, Tier
from spark.domain.targets import BuildTarget
from spark.jobs.waiting import mark_waiting_builds
from spark.kv.farm import RedisFarm
from spark.security.apikeys import create_key
from tests.acceptance.test_builds import create_project, submit_build
from tests.support.builds import builds_only_worker
from tests.support.jobs import auth, stored, wait_state
from tests.support.services import free_port
from tests.support.workers import ApiProcess

MAC = BuilderBeat(
    node="spark41@mac-mini",
    host="mac-mini",
    os="Darwin",
    unity_versions=("6000.0.23f1",),
    targets=(BuildTarget.IOS, BuildTarget.ANDROID),
    last_seen=datetime(2026, 12, 6, 12, 0, tzinfo=UTC),
)


@pytest.fixture
def registry(settings: Settings, db: Database) -> Iterator[RedisFarm]:
    """The farm registry as builders write it (emptied with Redis after the test)."""
    farm = RedisFarm(settings.require("redis_url"), heartbeat_s=60.0)
    yield farm
    farm.close()


def farm_of(client: TestClient, key: str) -> dict[str, Any]:
    """GET /v1/farm as key's owner."""
    resp = client.get("/v1/farm", headers=auth(key))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait until condition() holds; fail naming what did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:g}s: {what}"
        time.sleep(0.1)


def test_the_farm_needs_credentials_and_the_read_permission(
    client: TestClient, db: Database
) -> None:
    assert client.get("/v1/farm").status_code == 401
    builder_only = create_key(db, "alice", Tier.PRO, {Permission.BUILD}).token
    refused = client.get("/v1/farm", headers=auth(builder_only))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_a_builders_job_id_shows_only_to_the_jobs_owner_and_to_admins(
    client: TestClient, db: Database, api_key: str, other_key: str, registry: RedisFarm
) -> None:
    """alice sees the job her build runs on; mallory sees the builder busy, without the id."""
    job_id = uuid.uuid4()
    registry.beat(MAC)
    registry.running(RunningJob(MAC.node, job_id, "alice"))
    [mine] = farm_of(client, api_key)["builders"]
    assert mine == {
        "node": "spark41@mac-mini",
        "host": "mac-mini",
        "os": "Darwin",
        "unity_versions": ["6000.0.23f1"],
        "targets": ["iOS", "Android"],
        "state": "busy",
        "job_id": str(job_id),
        "last_seen": "2026-12-06T12:00:00+00:00",
    }
    [theirs] = farm_of(client, other_key)["builders"]
    assert theirs["state"] == "busy" and "job_id" not in theirs
    admin = create_key(db, "root", Tier.ENTERPRISE, {Permission.ADMIN}).token
    assert farm_of(client, admin)["builders"][0]["job_id"] == str(job_id)
    registry.finished(MAC.node, job_id)
    [idle] = farm_of(client, api_key)["builders"]
    assert idle["state"] == "idle" and "job_id" not in idle


def test_targets_without_builder_are_every_target_no_live_builder_declares(
    client: TestClient, api_key: str, registry: RedisFarm
) -> None:
    assert farm_of(client, api_key) == {
        "builders": [],
        "targets_without_builder": [t.value for t in BuildTarget],
    }
    registry.beat(MAC)
    missing = farm_of(client, api_key)["targets_without_builder"]
    assert "iOS" not in missing and "Android" not in missing and len(missing) == 11
    registry.leave(MAC.node)
    assert farm_of(client, api_key)["builders"] == []


def test_spark_worker_refuses_an_unknown_target_naming_the_valid_ones() -> None:
    done = CliRunner().invoke(cli_app, ["worker", "--queues", "builds", "--targets", "WebGL,Amiga"])
    assert done.exit_code == 2, done.output
    said = " ".join(done.output.split())
    assert "Amiga" in said
    assert all(target.value in said for target in BuildTarget), said


def test_spark_farm_lists_a_live_builder_as_json_and_as_a_table(
    settings: Settings, api_key: str, registry: RedisFarm, tmp_path: Path
) -> None:
    api = ApiProcess(settings, tmp_path, free_port())
    api.start()
    try:
        registry.beat(MAC)
        env = {"SPARK_API_URL": api.url, "SPARK_API_KEY": api_key}
        as_json = CliRunner().invoke(cli_app, ["farm", "--json"], env=env)
        assert as_json.exit_code == 0, as_json.output
        [builder] = json.loads(as_json.stdout)["builders"]
        assert builder["host"] == "mac-mini" and builder["state"] == "idle"
        table = CliRunner().invoke(cli_app, ["farm"], env=env)
        assert table.exit_code == 0, table.output
        assert "mac-mini" in table.stdout and "Darwin" in table.stdout
    finally:
        api.stop()


def test_a_builder_heartbeats_what_it_is_and_leaves_the_farm_when_stopped(
    settings: Settings, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    worker = builds_only_worker(
        settings,
        tmp_path,
        SPARK_BUILD_TARGETS="WebGL,iOS",
        SPARK_FARM_HEARTBEAT_S="1",
        FAKE_UNITY_VERSION="6000.0.23f1",
    )
    worker.start()
    try:
        wait_for(lambda: bool(farm_of(client, api_key)["builders"]), "the builder's first beat")
        [builder] = farm_of(client, api_key)["builders"]
        assert builder["host"] == socket.gethostname()
        assert builder["os"] == "Linux"
        assert builder["unity_versions"] == ["6000.0.23f1"]
        assert builder["targets"] == ["iOS", "WebGL"]
        assert builder["state"] == "idle"
        assert builder["node"].endswith(f"@{socket.gethostname()}")
    finally:
        worker.stop()
    assert farm_of(client, api_key)["builders"] == []


def test_a_build_for_a_target_no_builder_declares_waits_saying_so_until_one_does(
    settings: Settings,
    client: TestClient,
    api_key: str,
    db: Database,
    registry: RedisFarm,
    tmp_path: Path,
) -> None:
    """Submitted while a builder declares iOS: no waiting. That builder gone, the scheduler's
    step says the build waits and health names iOS; a builder for iOS starts: it runs."""
    project = create_project(client, api_key, make_unity_project(tmp_path / "Game"))
    registry.beat(MAC)
    first = submit_build(client, api_key, project["id"], "iOS")
    assert stored(db, first).progress.message == ""
    registry.leave(MAC.node)
    second = submit_build(client, api_key, project["id"], "iOS")
    assert stored(db, second).progress.message == "waiting for a builder for iOS"
    done = mark_waiting_builds(db, registry.read())
    assert done.targets == (BuildTarget.IOS,)
    assert stored(db, first).progress.message == "waiting for a builder for iOS"
    health = client.get("/v1/health").json()
    assert health["checks"]["builds"] == {"status": "degraded", "targets_without_builder": ["iOS"]}
    assert health["status"] != "healthy"
    worker = builds_only_worker(settings, tmp_path, SPARK_BUILD_TARGETS="iOS")
    worker.start()
    try:
        for job_id in (first, second):
            assert wait_state(db, job_id, {"succeeded"}, timeout=60).state.value == "succeeded"
    finally:
        worker.stop()
    health = client.get("/v1/health").json()
    assert health["checks"]["builds"] == {"status": "ok", "targets_without_builder": []}
