"""render_preview end to end: a real worker on the previews queue, a unity-mcp stand-in
speaking MCP over streamable HTTP, NATS with an independent subscriber."""

from __future__ import annotations

import hashlib
import io
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from spark import files
from spark.config import Settings
from spark.db.engine import Database
from spark.domain.files import Author
from spark.events.envelope import decode_event
from tests.conftest import REDIS_URL
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.nats import NatsServer, Subscriber
from tests.support.services import free_port
from tests.support.unity_mcp import UnityMcpStandIn
from tests.support.workers import WorkerProcess

SCENE = "Assets/Scenes/Main.unity"


@dataclass(frozen=True)
class Stack:
    nats: NatsServer
    editor: UnityMcpStandIn


@pytest.fixture(scope="module")
def stack(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """NATS, the editor stand-in and a worker consuming only `previews`, with Redis caching."""
    workdir = Path(tmp_path_factory.mktemp("previews"))
    nats_server = NatsServer(workdir)
    nats_server.start()
    editor = UnityMcpStandIn(free_port()).start()
    editor.put(SCENE, b"%YAML 1.1\n")
    worker = WorkerProcess(
        settings,
        workdir,
        queues="previews",
        SPARK_NATS_URL=nats_server.url,
        SPARK_REDIS_URL=REDIS_URL,
    )
    worker.start()
    yield Stack(nats_server, editor)
    worker.stop()
    editor.cleanup()
    nats_server.stop()


def project(client: TestClient, key: str, tmp_path: Path, editor_url: str) -> str:
    body = {"name": f"game-{uuid.uuid4().hex[:6]}", "source_dir": str(tmp_path)}
    resp = client.post(
        "/v1/projects", json={**body, "unity_mcp_url": editor_url}, headers=auth(key)
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def preview(
    client: TestClient,
    key: str,
    db: Database,
    project_id: str,
    session: str = "default",
    **params: Any,
) -> dict[str, Any]:
    body = {
        "kind": "render_preview",
        "params": params,
        "project_id": project_id,
        "session_id": session,
    }
    resp = client.post("/v1/jobs", json=body, headers=auth(key))
    assert resp.status_code == 202, resp.text
    job_id = str(resp.json()["id"])
    wait_state(db, job_id, TERMINAL, timeout=60)
    return dict(client.get(f"/v1/jobs/{job_id}", headers=auth(key)).json())


def screenshots(editor: UnityMcpStandIn) -> int:
    return len(editor.calls("manage_camera"))


@pytest.mark.parametrize(
    ("width", "height", "format_", "pil_format"),
    [(1920, 1080, "png", "PNG"), (4096, 4096, "jpg", "JPEG")],
)
def test_the_artifact_is_exactly_the_asked_size_and_format_and_announced_as_a_frame(
    stack: Stack,
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
    width: int,
    height: int,
    format_: str,
    pil_format: str,
) -> None:
    session = f"pv-{uuid.uuid4().hex[:6]}"
    sub = Subscriber(stack.nats.url, f"spark.preview.unity.*.{session}")
    sub.start()
    pid = project(client, api_key, tmp_path, stack.editor.url)
    job = preview(client, api_key, db, pid, session, width=width, height=height, format=format_)
    assert job["state"] == "succeeded", job
    name = f"preview.{format_}"
    result = {k: v for k, v in job["result"].items() if k != "artifacts"}
    assert result == {"artifact": name, "width": width, "height": height, "cached": False}
    got = client.get(f"/v1/jobs/{job['id']}/artifacts/{name}", headers=auth(api_key))
    assert got.status_code == 200
    with Image.open(io.BytesIO(got.content)) as image:
        assert (image.size, image.format) == ((width, height), pil_format)
    deadline = time.monotonic() + 10
    while not any(b'"completed"' in d for _, d in sub.messages) and time.monotonic() < deadline:
        time.sleep(0.05)
    sub.stop()
    events = [decode_event(data, subject) for subject, data in sub.messages]
    # progress events may come between, when the machine is slow enough to let one through
    announced = [e.type.value for e in events if e.type.value != "progress"]
    assert announced == ["started", "frame", "completed"]
    frame_at = next(i for i, e in enumerate(events) if e.type.value == "frame")
    frame = events[frame_at]
    assert sub.messages[frame_at][0] == f"spark.preview.unity.frame.{session}"
    assert frame.data["href"] == f"/v1/jobs/{job['id']}/artifacts/{name}"
    assert (frame.data["artifact"], frame.data["width"], frame.data["height"]) == (
        name,
        width,
        height,
    )
    assert frame.data["sha256"] == hashlib.sha256(got.content).hexdigest()


def test_the_same_preview_is_served_from_the_cache_until_a_file_is_written(
    stack: Stack, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    pid = project(client, api_key, tmp_path, stack.editor.url)
    params = {"width": 640, "height": 360, "scene": SCENE}
    before = screenshots(stack.editor)
    first = preview(client, api_key, db, pid, **params)
    assert first["state"] == "succeeded" and first["result"]["cached"] is False, first
    assert screenshots(stack.editor) == before + 1
    assert stack.editor.calls("manage_scene")[-1]["args"] == {"action": "load", "path": SCENE}
    second = preview(client, api_key, db, pid, **params)
    assert second["state"] == "succeeded" and second["result"]["cached"] is True, second
    assert screenshots(stack.editor) == before + 1
    copied = client.get(f"/v1/jobs/{second['id']}/artifacts/preview.png", headers=auth(api_key))
    original = client.get(f"/v1/jobs/{first['id']}/artifacts/preview.png", headers=auth(api_key))
    assert copied.status_code == 200 and copied.content == original.content
    files.write(
        db, uuid.UUID(pid), "Assets/Scripts/Spin.cs", b"class Spin {}", Author("alice"), "edit"
    )
    third = preview(client, api_key, db, pid, **params)
    assert third["state"] == "succeeded" and third["result"]["cached"] is False, third
    assert screenshots(stack.editor) == before + 2


def test_an_editor_that_is_down_fails_the_job_quickly_naming_its_url(
    stack: Stack, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    pid = project(client, api_key, tmp_path, url)
    started = time.monotonic()
    job = preview(client, api_key, db, pid, width=64, height=64)
    assert time.monotonic() - started < 30
    assert job["state"] == "failed", job
    assert job["error"]["code"] == "editor_unavailable"
    assert url in job["error"]["message"]


@pytest.mark.parametrize("mode", ["reloading", "pending"])
def test_an_editor_that_is_reloading_or_busy_is_asked_again_and_the_job_succeeds(
    stack: Stack, client: TestClient, api_key: str, db: Database, tmp_path: Path, mode: str
) -> None:
    """ "Unity is reloading; please retry" and `_mcp_status: pending` twice each, then a frame."""
    pid = project(client, api_key, tmp_path, stack.editor.url)
    before = screenshots(stack.editor)
    stack.editor.set_mode(mode, tool="manage_camera", times=2)
    try:
        job = preview(client, api_key, db, pid, width=321, height=123)
    finally:
        stack.editor.set_mode("ok")
    assert job["state"] == "succeeded", job
    assert job["result"]["cached"] is False
    assert screenshots(stack.editor) == before + 3
