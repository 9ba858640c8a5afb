"""A 1 GB player through S3 with bounded memory: a real build worker uploads it in parts and
a real API process streams it back, neither ever holding more than a few parts of it."""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path

import httpx
import pytest

from fakes.unity import make_unity_project
from spark.config import Settings
from spark.db.executor import Database
from tests.support.builds import builds_only_worker
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.s3 import MotoServer
from tests.support.services import free_port
from tests.support.workers import ApiProcess

SIZE = 1024**3
#: A SPARK process is about 120-160 MB resident with its imports (Celery, boto3, SQLAlchemy,
#: the OpenAI SDK) before it moves a byte; an upload holds a few 8 MiB parts at most (the
#: part being filled, the one being sent, botocore's copy for its checksum) and a download a
#: 64 KiB chunk plus botocore's read buffer. 300 MB leaves room for all that and is still a
#: third of what holding the player once would take.
PEAK_RSS_BOUND = 300 * 1024**2


def peak_rss(session_pid: int) -> int:
    """The highest peak resident size (VmHWM) among the processes of a process group."""
    peak = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) != session_pid:
                continue
            status = (entry / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) * 1024)
    return peak


def test_a_1_gb_player_uploads_and_downloads_with_bounded_memory(
    settings: Settings, s3_server: MotoServer, api_key: str, db: Database, tmp_path: Path
) -> None:
    """The build worker and the API process each peak far below the player's size."""
    store = settings.model_copy(
        update={
            "storage_url": f"s3://spark-test/large-{uuid.uuid4().hex[:8]}",
            "s3_endpoint_url": s3_server.url,
        }
    )
    builder = builds_only_worker(store, tmp_path / "builder")
    api = ApiProcess(store, tmp_path, free_port())
    builder.start()
    api.start()
    idle = peak_rss(builder.proc.pid), peak_rss(api.proc.pid)  # type: ignore[union-attr]
    try:
        source = make_unity_project(tmp_path / "Big", delay_s=0)
        (source / ".fake-unity-player-bytes").write_text(str(SIZE))
        headers = auth(api_key)
        with httpx.Client(base_url=api.url, headers=headers, timeout=60) as client:
            project = client.post("/v1/projects", json={"name": "big", "source_dir": str(source)})
            body = {"kind": "unity_build", "project_id": project.json()["id"]}
            job = client.post("/v1/jobs", json={**body, "params": {"target": "Android"}}).json()
            started = time.monotonic()
            done = wait_state(db, job["id"], TERMINAL, timeout=120)
            assert done.state.value == "succeeded", done.error
            uploaded_s = time.monotonic() - started
            [artifact] = (done.result or {})["artifacts"]
            assert artifact["size"] == SIZE
            started = time.monotonic()
            digest, received = hashlib.sha256(), 0
            with client.stream("GET", f"/v1/jobs/{job['id']}/artifacts/{artifact['name']}") as got:
                assert got.status_code == 200 and got.headers["content-length"] == str(SIZE)
                for chunk in got.iter_bytes(1 << 20):
                    digest.update(chunk)
                    received += len(chunk)
            downloaded_s = time.monotonic() - started
        worker_peak, api_peak = peak_rss(builder.proc.pid), peak_rss(api.proc.pid)  # type: ignore[union-attr]
    finally:
        api.stop()
        builder.stop()
    assert received == SIZE and digest.hexdigest() == artifact["sha256"]
    mib = 1024**2
    print(
        f"\n1 GiB player: build + upload {uploaded_s:.1f}s, download {downloaded_s:.1f}s; "
        f"peak RSS worker {worker_peak / mib:.0f} MiB (idle {idle[0] / mib:.0f}), "
        f"API {api_peak / mib:.0f} MiB (idle {idle[1] / mib:.0f}), bound "
        f"{PEAK_RSS_BOUND / mib:.0f} MiB; moto {s3_server.rss_bytes() / mib:.0f} MiB"
    )
    assert worker_peak < PEAK_RSS_BOUND, worker_peak
    assert api_peak < PEAK_RSS_BOUND, api_peak


pytestmark = pytest.mark.timeout(240)
