"""render_preview end to end: a real worker on the previews queue, unity-mcp's real server
with a stand-in Unity Editor connected to its plugin hub, NATS with an independent subscriber."""

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

from spark.config import Settings
from spark.db.executor import Database
from spark.domain.files import Author
from spark.events.envelope import decode_event
from spark.projects import files
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.nats import Subscriber
from tests.support.services import free_port
from tests.support.unity_editor import EditorStandIn
from tests.support.unity_mcp_real import UnityMcpServer
from tests.support.workers import WorkerProcess

SCENE = "Assets/Scenes/Main.unity"
#: the breaker opens after this many jobs found no editor (SPARK_BREAKER_FAILURES)
BREAKER_FAILURES = 3


@dataclass(frozen=True)
class Stack:
    nats_url: str
    server: UnityMcpServer
    editor: EditorStandIn


@pytest.fixture(scope="module")
def stack(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """unity-mcp with one editor (a 1920x1080 game view), and a worker consuming only
    `previews`, with Redis caching, breakers and leases."""
    workdir = Path(tmp_path_factory.mktemp("previews"))
    server = UnityMcpServer(free_port()).start()
    editor = EditorStandIn(server.hub_url, workdir / "Game", "Game", uuid.uuid4().hex[:8])
    editor.write(SCENE, "%YAML 1.1\n")
    editor.start()
    worker = WorkerProcess(
        settings,
        workdir,
        queues="previews",
        SPARK_BREAKER_FAILURES=str(BREAKER_FAILURES),
    )
    worker.start()
    yield Stack(settings.require("nats_url"), server, editor)
    worker.stop()
    editor.stop()
    server.cleanup()


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


def captures(editor: EditorStandIn) -> list[dict[str, Any]]:
    return [params for _, command, params in editor.calls if command == "manage_camera"]


def screenshots(editor: EditorStandIn) -> int:
    return len(captures(editor))


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
    sub = Subscriber(stack.nats_url, f"spark.preview.unity.*.{session}")
    sub.start()
    pid = project(client, api_key, tmp_path, stack.server.url)
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
    # the 1920x1080 game view was captured at a multiple that covers the asked size, and
    # reduced to it: nothing was enlarged
    capture = captures(stack.editor)[-1]
    assert capture["superSize"] == (3 if width == 4096 else 1)
    assert capture["maxResolution"] == max(width, height)
    assert not list((stack.editor.project_dir / "Assets").rglob("*.png"))


def test_the_same_preview_is_served_from_the_cache_until_a_file_is_written(
    stack: Stack, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    pid = project(client, api_key, tmp_path, stack.server.url)
    params = {"width": 640, "height": 360, "scene": SCENE}
    before = screenshots(stack.editor)
    first = preview(client, api_key, db, pid, **params)
    assert first["state"] == "succeeded" and first["result"]["cached"] is False, first
    assert screenshots(stack.editor) == before + 1
    loads = [p for _, c, p in stack.editor.calls if c == "manage_scene" and p["action"] == "load"]
    assert loads[-1]["path"] == SCENE
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


def test_an_editor_that_reloads_during_the_capture_is_waited_for_and_the_job_succeeds(
    stack: Stack, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """The editor drops its connection on the capture and registers again 1.5 s later."""
    pid = project(client, api_key, tmp_path, stack.server.url)
    before = screenshots(stack.editor)
    stack.editor.reload_on("manage_camera", down_s=1.5)
    job = preview(client, api_key, db, pid, width=321, height=123)
    assert job["state"] == "succeeded", job
    assert job["result"]["cached"] is False
    assert screenshots(stack.editor) == before + 2


def test_with_no_editor_connected_jobs_fail_within_seconds_then_at_once(
    stack: Stack, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """A unity-mcp server nobody's editor is connected to: each preview fails
    editor_unavailable in seconds, and once the breaker opens, at once."""
    with UnityMcpServer(free_port()) as empty:
        pid = project(client, api_key, tmp_path, empty.url)
        for n in range(BREAKER_FAILURES):
            started = time.monotonic()
            job = preview(client, api_key, db, pid, width=64, height=64 + n)
            assert time.monotonic() - started <= 10, job
            assert job["state"] == "failed", job
            assert job["error"]["code"] == "editor_unavailable"
            assert "no Unity editor is connected" in job["error"]["message"]
        started = time.monotonic()
        job = preview(client, api_key, db, pid, width=64, height=32)
        assert time.monotonic() - started < 3, job
        assert job["error"]["code"] == "editor_unavailable"
        assert "is failing" in job["error"]["message"]
