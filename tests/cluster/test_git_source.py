"""Builders fetch a project from where it lives on the network, never from another host's disk."""

from __future__ import annotations

import pytest

from fakes.unity import make_unity_project
from spark.db.executor import Database
from tests.support.cluster import Cluster
from tests.support.cluster_builds import create_project, submit_build, unity_runs
from tests.support.cluster_git import publish
from tests.support.cluster_roles import Fleet, Running, api, builder
from tests.support.jobs import TERMINAL, wait_state


@pytest.fixture(scope="module")
def farm(cluster: Cluster, key: str, scheduling: Fleet) -> tuple[Running, Running]:
    """An API host and a builder host that has never built anything."""
    fleet = Fleet(apis=[api(cluster, 1)], workers=[builder(cluster, 3)]).wait(cluster)
    return fleet.apis[0], fleet.workers[0]


@pytest.mark.timeout(180)
def test_a_project_from_the_services_hosts_git_daemon_builds_at_its_commit(
    cluster: Cluster, key: str, db: Database, farm: tuple[Running, Running]
) -> None:
    """A git:// project builds on a builder host that has never seen it; the result names the
    commit the daemon served."""
    server, built_on = farm
    game = publish(cluster, "git-game")
    assert not (built_on.host.folder / "workspaces").exists()
    project = create_project(server.url, key, "git-game", git_url=game.url)
    job = wait_state(db, submit_build(server.url, key, project["id"]), TERMINAL, timeout=90)
    assert job.state.value == "succeeded", job.error
    assert job.result is not None and job.result["revision"] == game.commit
    assert str(job.worker).startswith(f"{built_on.host.name}:")
    assert unity_runs(built_on.host, str(job.id)) == 1


@pytest.mark.timeout(180)
def test_a_source_dir_only_the_api_host_has_is_unreachable_on_the_builder(
    cluster: Cluster, key: str, db: Database, farm: tuple[Running, Running]
) -> None:
    """A project whose source_dir exists on the API host alone is accepted there, and its
    build fails source_unreachable on the builder, which has no such directory, naming it."""
    server, built_on = farm
    source = make_unity_project(server.host.folder / "sources" / "LocalGame")
    project = create_project(server.url, key, "local-game", source_dir=str(source))
    job = wait_state(db, submit_build(server.url, key, project["id"]), TERMINAL, timeout=90)
    assert job.state.value == "failed" and job.error is not None
    assert job.error.code == "source_unreachable", job.error
    assert job.error.details is not None and job.error.details["host"] == built_on.host.name
    assert unity_runs(built_on.host, str(job.id)) == 0
