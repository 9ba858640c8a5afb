"""A build's log and its player reach a client through an API host other than the builder:
the log live from the log store every host shares, the player from the object store."""

from __future__ import annotations

import hashlib
import time
from urllib.parse import urlsplit

import httpx
import pytest

from spark.db.executor import Database
from tests.support.builds import read_records
from tests.support.cluster import S3_PORT, Cluster
from tests.support.cluster_builds import create_project, submit_build, wait_for
from tests.support.cluster_git import publish
from tests.support.cluster_roles import Fleet, Running, api, builder
from tests.support.jobs import TERMINAL, auth, wait_state

#: the first line the Unity stand-in writes, right after it records its start time
FIRST_LINE = "[Licensing::Module] Successfully connected"


@pytest.fixture(scope="module")
def farm(cluster: Cluster, key: str, scheduling: Fleet) -> Fleet:
    """Builder host 1 (the stand-in pausing 0.25 s after each line), API host 2 streaming
    downloads, API host 3 answering them with a redirect to the object store."""
    return Fleet(
        apis=[api(cluster, 2), api(cluster, 3, SPARK_ARTIFACT_REDIRECT="true")],
        workers=[builder(cluster, 1, FAKE_UNITY_DELAY_S="0.25")],
    ).wait(cluster)


def follow_until(url: str, key: str, job_id: str, text: str) -> float:
    """Read the job's log through url until text is in it; when it was seen (time.time())."""
    seen_at = 0.0

    def shows() -> bool:
        nonlocal seen_at
        resp = httpx.get(f"{url}/v1/jobs/{job_id}/log", headers=auth(key), timeout=10)
        assert resp.status_code == 200, resp.text
        seen_at = time.time()
        return text in resp.text

    wait_for(shows, f"{text!r} in the log through {url}", timeout=60)
    return seen_at


def unity_started_at(builder_host: Running, job_id: str) -> float:
    """When the Unity stand-in on the builder started the job, by its own clock record."""
    found = [
        r for r in read_records(builder_host.host.folder / "unity.jsonl") if r["job"] == job_id
    ]
    return float(str(found[0]["time"]))


@pytest.mark.timeout(180)
def test_a_build_on_one_host_is_followed_live_and_downloaded_through_another(
    cluster: Cluster, key: str, db: Database, farm: Fleet
) -> None:
    """A client following the log through API host 2 sees the stand-in's first line within a
    second of its writing it on builder host 1, then downloads the player whole from API host
    2 and through API host 3's redirect to the S3 server; both have the SHA-256 the result
    names."""
    (streaming, redirecting), (built_on,) = farm.apis, farm.workers
    game = publish(cluster, "live-game")
    project = create_project(streaming.url, key, "live-game", git_url=game.url)
    job_id = submit_build(streaming.url, key, project["id"])
    seen_at = follow_until(streaming.url, key, job_id, FIRST_LINE)
    lag = seen_at - unity_started_at(built_on, job_id)
    print(f"\nthe stand-in's first line reached the client through another host in {lag:.3f}s")
    assert lag < 1.0

    job = wait_state(db, job_id, TERMINAL, timeout=90)
    assert job.state.value == "succeeded", job.error
    assert job.result is not None
    (artifact,) = job.result["artifacts"]
    path = f"/v1/jobs/{job_id}/artifacts/{artifact['name']}"
    whole = httpx.get(f"{streaming.url}{path}", headers=auth(key), timeout=30)
    assert whole.status_code == 200
    assert hashlib.sha256(whole.content).hexdigest() == artifact["sha256"]

    moved = httpx.get(f"{redirecting.url}{path}", headers=auth(key), timeout=30)
    assert moved.status_code == 302, moved.text
    location = urlsplit(moved.headers["location"])
    assert (location.hostname, location.port) == (cluster.services.host.address, S3_PORT)
    fetched = httpx.get(moved.headers["location"], timeout=30)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == artifact["sha256"]
