"""Builds go to the builders that declare their target: Android builds only to the builder
declaring Android, an iOS build waits (saying so, health naming iOS) until a builder for
iOS starts, and then runs there."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from spark.db.executor import Database
from tests.support.cluster import Cluster
from tests.support.cluster_builds import create_project, submit_build, unity_runs
from tests.support.cluster_git import publish
from tests.support.cluster_roles import Fleet, api, builder, start_builders
from tests.support.jobs import TERMINAL, auth, wait_state


def job_of(url: str, key: str, job_id: str) -> dict[str, Any]:
    """The job as the API shows it."""
    resp = httpx.get(f"{url}/v1/jobs/{job_id}", headers=auth(key), timeout=10)
    assert resp.status_code == 200, resp.text
    job: dict[str, Any] = resp.json()
    return job


def health(url: str) -> tuple[str, dict[str, Any]]:
    """The API's overall health status and its checks.builds."""
    body = httpx.get(f"{url}/v1/health", timeout=10).json()
    return body["status"], body["checks"]["builds"]


@pytest.mark.timeout(300)
def test_builds_reach_only_builders_declaring_their_target_and_wait_for_one_otherwise(
    cluster: Cluster, key: str, db: Database, scheduling: Fleet
) -> None:
    game = publish(cluster, "routed-game")
    fleet = Fleet(
        apis=[api(cluster, 1)],
        workers=[
            builder(cluster, 5, "Android,WebGL"),
            builder(cluster, 6, "StandaloneLinux64"),
        ],
    ).wait(cluster)
    server, (mobile, desktop) = fleet.apis[0], fleet.workers
    project = create_project(server.url, key, "routed-game", git_url=game.url)

    android = [submit_build(server.url, key, project["id"], "Android") for _ in range(3)]
    linux = submit_build(server.url, key, project["id"], "StandaloneLinux64")
    for job_id in [*android, linux]:
        final = wait_state(db, job_id, TERMINAL, timeout=90)
        assert final.state.value == "succeeded", final.error
    assert [unity_runs(mobile.host, j) for j in android] == [1, 1, 1]
    assert [unity_runs(desktop.host, j) for j in android] == [0, 0, 0]
    assert (unity_runs(mobile.host, linux), unity_runs(desktop.host, linux)) == (0, 1)

    ios = submit_build(server.url, key, project["id"], "iOS")
    waiting = job_of(server.url, key, ios)
    assert waiting["state"] == "queued"
    assert waiting["progress"]["message"] == "waiting for a builder for iOS"
    status, builds = health(server.url)
    assert builds == {"status": "degraded", "targets_without_builder": ["iOS"]}
    assert status == "degraded"
    assert job_of(server.url, key, ios)["state"] == "queued"

    (apple,) = start_builders(cluster, [7], "iOS")
    final = wait_state(db, ios, TERMINAL, timeout=90)
    assert final.state.value == "succeeded", final.error
    assert unity_runs(apple.host, ios) == 1
    assert unity_runs(mobile.host, ios) == unity_runs(desktop.host, ios) == 0
    assert health(server.url)[1] == {"status": "ok", "targets_without_builder": []}
