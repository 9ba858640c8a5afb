"""The farm as operators see it: GET /v1/farm and `spark farm --json` on the client host list
each builder machine with its host name, OS, Unity version and targets, busy with the job it
runs and idle after; Flower shows the same nodes; a builder stopped or killed leaves the farm
within the heartbeat window."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from typing import Any

import httpx
import pytest

from spark.db.executor import Database
from spark.kv.farm import MISSED_BEATS
from tests.support.cluster import Cluster
from tests.support.cluster_builds import create_project, submit_build, wait_for
from tests.support.cluster_git import publish
from tests.support.cluster_procs import VENV_BIN
from tests.support.cluster_roles import Fleet, Running, api, builder
from tests.support.jobs import TERMINAL, auth, wait_state

HEARTBEAT_S = 1.0
#: how long a read of the farm may lag the moment a builder's last key expires
READ_SLACK_S = 1.0
FLOWER_PORT, FLOWER_AUTH = 5555, ("ops", "s3cret")
BEATING = {"SPARK_FARM_HEARTBEAT_S": str(HEARTBEAT_S)}


@pytest.fixture(scope="module")
def farm(cluster: Cluster, key: str, scheduling: Fleet) -> Fleet:
    """API host 4; builder host 8 (Android, WebGL; Unity 6) and builder host 9
    (StandaloneLinux64; Unity 2022.3), both beating every second."""
    mobile = builder(
        cluster,
        8,
        "Android,WebGL",
        FAKE_UNITY_VERSION="6000.0.23f1",
        FAKE_UNITY_DELAY_S="0.2",
        **BEATING,
    )
    desktop = builder(cluster, 9, "StandaloneLinux64", FAKE_UNITY_VERSION="2022.3.20f1", **BEATING)
    return Fleet(apis=[api(cluster, 4)], workers=[mobile, desktop]).wait(cluster)


def builders(url: str, key: str) -> dict[str, dict[str, Any]]:
    """GET /v1/farm's builders by host name."""
    resp = httpx.get(f"{url}/v1/farm", headers=auth(key), timeout=10)
    assert resp.status_code == 200, resp.text
    return {b["host"]: b for b in resp.json()["builders"]}


def node_of(running: Running) -> str:
    """The Celery node name of a builder."""
    return f"spark{running.process.pid}@{running.host.name}"


def test_the_farm_lists_each_builder_machine_with_its_os_unity_and_targets(
    farm: Fleet, key: str
) -> None:
    server, (mobile, desktop) = farm.apis[0], farm.workers
    wait_for(lambda: {"builder8", "builder9"} <= set(builders(server.url, key)), "both beating")
    found = builders(server.url, key)
    for running, unity, targets in (
        (mobile, "6000.0.23f1", ["Android", "WebGL"]),
        (desktop, "2022.3.20f1", ["StandaloneLinux64"]),
    ):
        listed = found[running.host.name]
        assert listed["node"] == node_of(running)
        assert listed["os"] == "Linux"
        assert listed["unity_versions"] == [unity]
        assert listed["targets"] == targets
        assert listed["state"] == "idle"

    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_")}
    env |= {"SPARK_API_URL": server.url, "SPARK_API_KEY": key}
    done = subprocess.run(
        [str(VENV_BIN / "spark"), "farm", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    from_cli = {b["host"]: b for b in json.loads(done.stdout)["builders"]}
    for host in ("builder8", "builder9"):
        assert {k: v for k, v in from_cli[host].items() if k != "last_seen"} == {
            k: v for k, v in found[host].items() if k != "last_seen"
        }


def test_a_builder_is_busy_with_the_job_it_runs_and_idle_after(
    farm: Fleet, cluster: Cluster, key: str, db: Database
) -> None:
    server = farm.apis[0]
    game = publish(cluster, "farm-view-game")
    project = create_project(server.url, key, "farm-view-game", git_url=game.url)
    job_id = submit_build(server.url, key, project["id"], "Android")

    def shows(state: str, job: str | None) -> bool:
        listed = builders(server.url, key).get("builder8", {})
        return listed.get("state") == state and listed.get("job_id") == job

    wait_for(lambda: shows("busy", job_id), "builder 8 busy with the build", timeout=60)
    assert builders(server.url, key)["builder9"]["state"] == "idle"
    final = wait_state(db, job_id, TERMINAL, timeout=90)
    assert final.state.value == "succeeded", final.error
    wait_for(lambda: shows("idle", None), "builder 8 idle again", timeout=10)


def test_flower_shows_the_same_builder_nodes(farm: Fleet, cluster: Cluster, key: str) -> None:
    server = farm.apis[0]
    host = server.host
    flower = cluster.spark_process(
        host,
        "flower",
        *("flower", "--host", host.address, "--port", str(FLOWER_PORT)),
        SPARK_FLOWER_BASIC_AUTH=":".join(FLOWER_AUTH),
    )
    flower.wait_until(lambda: "Visit me at" in flower.log(), "serving")
    listed = {b["node"] for b in builders(server.url, key).values()}
    wanted = {node_of(running) for running in farm.workers}
    assert wanted <= listed
    seen: dict[str, bool] = {}

    def flower_sees_them() -> bool:
        nonlocal seen
        resp = httpx.get(
            f"http://{host.address}:{FLOWER_PORT}/api/workers",
            params={"status": "true"},
            auth=FLOWER_AUTH,
            timeout=5,
        )
        seen = resp.json() if resp.status_code == 200 else {}
        return all(seen.get(node) for node in wanted)

    wait_for(flower_sees_them, f"Flower listing {sorted(wanted)} alive", timeout=60)
    flower.stop()


def test_a_builder_stopped_or_killed_leaves_the_farm_within_the_heartbeat_window(
    farm: Fleet, key: str
) -> None:
    server, (mobile, desktop) = farm.apis[0], farm.workers
    window_s = MISSED_BEATS * HEARTBEAT_S + READ_SLACK_S
    wait_for(lambda: {"builder8", "builder9"} <= set(builders(server.url, key)), "both beating")

    desktop.process.stop()  # SIGTERM: a graceful shutdown removes it at once
    wait_for(lambda: "builder9" not in builders(server.url, key), "builder 9 gone", timeout=10)

    mobile.process.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    asked_at = [killed_at]

    def gone() -> bool:
        # Timed from when the answer was asked for: a slow answer is the API's, not the farm's.
        asked_at[0] = time.monotonic()
        return "builder8" not in builders(server.url, key)

    wait_for(gone, "builder 8 gone", timeout=30)
    gone_after = asked_at[0] - killed_at
    print(f"killed builder left the farm after {gone_after:.2f}s (window {window_s:g}s)")
    assert gone_after <= window_s, f"the killed builder stayed listed {gone_after:.1f}s"
