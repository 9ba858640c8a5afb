"""The services host's object store lost in the middle of a builder's upload: the build
waits for it and stores the whole player once it is back, never a part of one."""

from __future__ import annotations

from typing import Any

import boto3
import httpx
import pytest

from spark.db.executor import Database
from spark.faults import RELEASE, marker
from tests.support.cluster import BUCKET, S3_CREDENTIALS, Cluster
from tests.support.cluster_builds import create_project, submit_build, wait_for
from tests.support.cluster_git import publish
from tests.support.cluster_roles import Fleet, api, builder
from tests.support.jobs import TERMINAL, auth, stored, wait_state

PAUSE = "storage_part_sent"
#: several parts of the S3 adapter's multipart upload
PLAYER_BYTES = 20 * 1024 * 1024


def s3_client(cluster: Cluster) -> Any:
    """A client of the services host's S3 server, with the hosts' credentials."""
    return boto3.client(
        "s3",
        endpoint_url=cluster.services.s3_url,
        aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=S3_CREDENTIALS["AWS_DEFAULT_REGION"],
    )


def requeued(db: Database, job_id: str) -> bool:
    """Whether the job went back to the queue after an attempt, waiting for a dependency."""
    job = stored(db, job_id)
    return job.state.value == "queued" and job.attempts >= 1


@pytest.mark.timeout(240)
def test_the_object_store_lost_mid_upload_means_a_retry_that_lists_only_the_whole_player(
    cluster: Cluster, key: str, db: Database, scheduling: Fleet
) -> None:
    """The S3 server stops after a builder sent the first part of a 20 MB Android package:
    the attempt fails as an outage and the job waits in the queue; once the server is back,
    a new attempt stores the whole player, the only artifact listed, with no upload left open."""
    paused_builder = builder(
        cluster, 4, SPARK_FAULT_PAUSE_AT=PAUSE, FAKE_UNITY_PLAYER_BYTES=str(PLAYER_BYTES)
    )
    fleet = Fleet([api(cluster, 1)], [paused_builder]).wait(cluster)
    (server,), (built_on,) = fleet.apis, fleet.workers
    game = publish(cluster, "outage-game")
    project = create_project(server.url, key, "outage-game", git_url=game.url)
    # An Android package is stored as it is, so the upload is the player's 20 MB; a zipped
    # player of the stand-in's repeated block would fit in one part.
    job_id = submit_build(server.url, key, project["id"], target="Android")
    paused = marker(PAUSE, built_on.host.folder / "var")
    wait_for(paused.exists, "the upload reaching its first part", timeout=60)

    cluster.stop_s3()
    paused.write_text(RELEASE)
    wait_for(lambda: requeued(db, job_id), "the job back in the queue", timeout=60)
    cluster.start_s3()
    job = wait_state(db, job_id, TERMINAL, timeout=120)
    assert job.state.value == "succeeded", job.error
    listed = httpx.get(f"{server.url}/v1/jobs/{job_id}/artifacts", headers=auth(key), timeout=10)
    (artifact,) = listed.json()["items"]
    assert artifact["attempt"] == job.attempts >= 2 and artifact["size"] == PLAYER_BYTES

    s3 = s3_client(cluster)
    stored_keys = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"spark/jobs/{job_id}/")["Contents"]
    assert [o["Key"] for o in stored_keys] == [
        f"spark/jobs/{job_id}/{job.attempts}/{artifact['name']}"
    ]
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
