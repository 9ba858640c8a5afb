"""Build artifacts in S3 (the suite's moto server): stored by a real build worker, downloaded
through the API whole, by range and by redirect; outages of the object store during an upload
and during a download."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from fakes.unity import make_unity_project
from spark.config import Settings
from spark.db.executor import Database
from spark.faults import RELEASE, marker
from spark.storage.factory import make_blobs
from spark.storage.s3 import S3Blobs
from spark.web.app import create_app
from tests.support.builds import builds_only_worker
from tests.support.jobs import TERMINAL, auth, stored, wait_state
from tests.support.s3 import MotoServer
from tests.support.workers import WorkerProcess

PAUSE = "storage_part_sent"


@pytest.fixture(scope="module")
def s3_store(settings: Settings, s3_server: MotoServer) -> Settings:
    """The suite's settings with storage in S3, under this module's own prefix."""
    return settings.model_copy(
        update={
            "storage_url": f"s3://spark-test/acceptance-{uuid.uuid4().hex[:8]}",
            "s3_endpoint_url": s3_server.url,
        }
    )


@pytest.fixture
def s3_builder(s3_store: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A builds-only worker storing players in S3; a test's own, so no builder of another
    test is left to take a build this one watches for on its own worker."""
    proc = builds_only_worker(s3_store, tmp_path / "s3-builder")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def api(s3_store: Settings, db: Database) -> Iterator[TestClient]:
    """The API on the same S3 storage, streaming downloads."""
    with TestClient(create_app(s3_store), raise_server_exceptions=False) as client:
        yield client


def build_player(
    client: TestClient, key: str, db: Database, source: Path, size: int, timeout: float = 60
) -> tuple[str, dict[str, Any]]:
    """Build source for Android (a single-file .apk of size bytes); the job id and the
    artifact its result lists."""
    (source / ".fake-unity-player-bytes").write_text(str(size))
    job_id = _submit(client, key, source)
    job = wait_state(db, job_id, TERMINAL, timeout=timeout)
    assert job.state.value == "succeeded", job.error
    [artifact] = (job.result or {})["artifacts"]
    return job_id, dict(artifact)


def test_a_player_built_into_s3_downloads_whole_by_range_and_by_redirect(
    s3_builder: WorkerProcess,
    s3_store: Settings,
    api: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
) -> None:
    """The player is stored under the attempt that built it, streamed with its length and
    digest, sliced by one Range, or handed to the object store by a 302; the builder keeps
    no copy of it."""
    size = 300_000
    job_id, artifact = build_player(
        api, api_key, db, make_unity_project(tmp_path / "G", delay_s=0), size
    )
    name, sha256 = artifact["name"], artifact["sha256"]
    assert artifact["attempt"] == 1 and artifact["size"] == size and name.endswith(".apk")
    blobs = make_blobs(s3_store)
    assert isinstance(blobs, S3Blobs)
    assert blobs.keys(f"jobs/{job_id}/") == [f"jobs/{job_id}/1/{name}"]

    url = f"/v1/jobs/{job_id}/artifacts/{name}"
    whole = api.get(url, headers=auth(api_key))
    assert whole.status_code == 200 and hashlib.sha256(whole.content).hexdigest() == sha256
    assert whole.headers["content-length"] == str(size)
    assert whole.headers["etag"] == f'"{sha256}"' and whole.headers["accept-ranges"] == "bytes"
    data = whole.content

    for asked, start, end in (
        ("100-199", 100, 200),
        ("299990-", 299_990, size),
        ("-500", size - 500, size),
    ):
        part = api.get(url, headers={**auth(api_key), "Range": f"bytes={asked}"})
        assert part.status_code == 206, asked
        assert part.content == data[start:end]
        assert part.headers["content-range"] == f"bytes {start}-{end - 1}/{size}"
        assert part.headers["content-length"] == str(end - start)
    outside = api.get(url, headers={**auth(api_key), "Range": f"bytes={size}-"})
    assert outside.status_code == 416 and outside.headers["content-range"] == f"bytes */{size}"
    assert outside.json()["error"]["code"] == "range_not_satisfiable"

    redirecting = s3_store.model_copy(update={"artifact_redirect": True})
    with TestClient(create_app(redirecting), follow_redirects=False) as direct:
        moved = direct.get(url, headers=auth(api_key))
    assert moved.status_code == 302
    location = moved.headers["location"]
    assert location.startswith(s3_store.s3_endpoint_url or "") and "X-Amz-Signature=" in location
    fetched = httpx.get(location)
    assert fetched.status_code == 200 and hashlib.sha256(fetched.content).hexdigest() == sha256

    workspace = s3_builder.workdir / "workspaces" / str(stored(db, job_id).project_id)
    assert (workspace / "ProjectSettings").is_dir()
    assert not (workspace / "Builds" / "Android").exists()
    assert not (workspace / "Builds" / "Android.zip").exists()


def test_a_download_while_storage_is_down_is_503_with_retry_after(
    s3_builder: WorkerProcess,
    s3_server: MotoServer,
    api: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
) -> None:
    """No artifact can be read while the object store is away: the API says so with a 503
    and Retry-After, and health shows storage down (degraded), until it is back."""
    job_id, artifact = build_player(
        api, api_key, db, make_unity_project(tmp_path / "G", delay_s=0), 1000
    )
    url = f"/v1/jobs/{job_id}/artifacts/{artifact['name']}"
    s3_server.stop()
    try:
        answer = api.get(url, headers=auth(api_key))
        assert answer.status_code == 503, answer.text
        assert (
            answer.headers["retry-after"]
            and answer.json()["error"]["code"] == "storage_unavailable"
        )
        health = wait_health(api, "down")
        assert health["status"] == "degraded" and health["checks"]["storage"]["error"]
    finally:
        s3_server.start()
    assert wait_health(api, "ok")["checks"]["storage"] == {"status": "ok"}


def wait_health(client: TestClient, storage: str, timeout: float = 15) -> dict[str, Any]:
    """GET /v1/health until checks.storage has the status (its probe is reused a few seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get("/v1/health").json()
        if body["checks"]["storage"]["status"] == storage or time.monotonic() > deadline:
            assert body["checks"]["storage"]["status"] == storage, body
            return body
        time.sleep(0.2)


def test_storage_lost_mid_upload_is_retried_and_lists_only_the_whole_player(
    s3_store: Settings,
    s3_server: MotoServer,
    api: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
) -> None:
    """The object store stops after the first part of a 20 MB player: the attempt fails as
    a dependency outage, the job waits in the queue, and once the store is back a new attempt
    stores the whole player; only that attempt's file is ever listed."""
    var = tmp_path / "var"
    var.mkdir()
    builder = builds_only_worker(
        s3_store, tmp_path / "builder", SPARK_VAR_DIR=str(var), SPARK_FAULT_PAUSE_AT=PAUSE
    )
    builder.start()
    try:
        source = make_unity_project(tmp_path / "G", delay_s=0)
        (source / ".fake-unity-player-bytes").write_text(str(20 * 1024 * 1024))
        job_id = _submit(api, api_key, source)
        paused = marker(PAUSE, var)
        wait_for(paused.exists, 60, "the upload never reached its first part")
        blobs = make_blobs(s3_store)
        assert blobs.keys(f"jobs/{job_id}/") == []
        s3_server.stop()
        paused.write_text(RELEASE)
        wait_for(lambda: _requeued(db, job_id), 30, "the job was not put back to wait")
        s3_server.start()
        job = wait_state(db, job_id, TERMINAL, timeout=90)
    finally:
        builder.stop()
        s3_server.start()
    assert job.state.value == "succeeded", job.error
    [artifact] = (job.result or {})["artifacts"]
    assert artifact["attempt"] == job.attempts >= 2
    assert blobs.keys(f"jobs/{job_id}/") == [f"jobs/{job_id}/{job.attempts}/{artifact['name']}"]
    assert isinstance(blobs, S3Blobs)
    uploads = blobs._client.list_multipart_uploads(Bucket=blobs.bucket, Prefix=blobs.prefix)
    assert uploads.get("Uploads", []) == []
    got = api.get(f"/v1/jobs/{job_id}/artifacts/{artifact['name']}", headers=auth(api_key))
    assert hashlib.sha256(got.content).hexdigest() == artifact["sha256"]


def _submit(client: TestClient, key: str, source: Path) -> str:
    body = {"name": f"game-{uuid.uuid4().hex[:6]}", "source_dir": str(source)}
    project = client.post("/v1/projects", json=body, headers=auth(key)).json()
    job = {"kind": "unity_build", "project_id": project["id"], "params": {"target": "Android"}}
    submitted = client.post("/v1/jobs", json=job, headers=auth(key))
    assert submitted.status_code == 202, submitted.text
    job_id: str = submitted.json()["id"]
    return job_id


def _requeued(db: Database, job_id: str) -> bool:
    """Whether the job went back to the queue after an attempt, waiting for a dependency."""
    job = stored(db, job_id)
    return job.state.value == "queued" and job.attempts >= 1


def wait_for(condition: Callable[[], bool], timeout: float, failure: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)
