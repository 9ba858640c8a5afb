"""A builder cut off from the network mid-build: the build runs again on another builder,
and what the first one writes once it is back is fenced off."""

from __future__ import annotations

import httpx
import pytest

from spark.db.executor import Database
from tests.support.cluster import Cluster
from tests.support.cluster_builds import (
    create_project,
    submit_build,
    terminal_events,
    unity_runs,
    unlocked,
    wait_for,
)
from tests.support.cluster_git import publish
from tests.support.cluster_roles import Fleet, api, builder, start_builders
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.ledger import assert_each_ended_once


@pytest.mark.timeout(300)
def test_a_build_cut_off_mid_run_reruns_on_another_builder_and_its_late_writes_are_fenced(
    cluster: Cluster, key: str, db: Database, scheduling: Fleet
) -> None:
    """Builder 1 runs a slow build and loses its link: once its lease runs out the build runs
    again on builder 2 and succeeds. Builder 1 comes back and finishes late: the job still
    has one terminal event, one usage record and one attempt's artifacts, and builder 1's
    workspace lock is let go."""
    game = publish(cluster, "cut-off-game")
    # A second a line keeps builder 1's Unity running (for half a minute) while builder 2
    # starts; builder 2's runs at the project's own pace.
    started = Fleet([api(cluster, 1)], [builder(cluster, 1, FAKE_UNITY_DELAY_S="1")])
    server, first = started.wait(cluster).apis[0], started.workers[0]
    project = create_project(server.url, key, "cut-off-game", git_url=game.url)
    job_id = submit_build(server.url, key, project["id"])
    wait_for(lambda: unity_runs(first.host, job_id) == 1, "Unity started on builder 1")
    (second,) = start_builders(cluster, [2])

    cluster.net.cut(first.host)
    final = wait_state(db, job_id, TERMINAL, timeout=90)
    assert final.state.value == "succeeded", final.error
    assert final.attempts == 2 and str(final.worker).startswith("builder2:"), final
    assert unity_runs(second.host, job_id) == 1

    cluster.net.restore(first.host)
    lock = first.host.folder / "workspaces" / f"{project['id']}.lock"
    wait_for(lambda: unlocked(lock), "builder 1's workspace lock let go", timeout=90)
    assert len(terminal_events(server.url, key, job_id)) == 1
    assert_each_ended_once(db, [job_id])
    listed = httpx.get(f"{server.url}/v1/jobs/{job_id}/artifacts", headers=auth(key), timeout=10)
    items = listed.json()["items"]
    assert len(items) == 1 and items[0]["attempt"] == 2, items
