"""`assist` with no LLM configured: the offline planner maps plain requests to tool calls —
a script written into the project, a preview of the main scene, a WebGL build — runs them as
child jobs, and answers with what ran; a request it cannot map is answered as such."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from spark.projects import files
from tests.acceptance.test_assist import SCENE, ask, children, new_project, put
from tests.support.endings import wait_for
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.services import free_port
from tests.support.unity_editor import EditorStandIn
from tests.support.unity_mcp_real import UnityMcpServer
from tests.support.workers import BeatProcess, WorkerProcess


@dataclass(frozen=True)
class Stack:
    server: UnityMcpServer
    editor: EditorStandIn


@pytest.fixture(scope="module")
def stack(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """unity-mcp with one editor holding the main scene, a worker with no LLM configured on
    the queues a turn and its calls use (no builder: builds wait), and the scheduler."""
    workdir = Path(tmp_path_factory.mktemp("assist-offline"))
    server = UnityMcpServer(free_port()).start()
    editor = EditorStandIn(server.hub_url, workdir / "Game", "Game", uuid.uuid4().hex[:8])
    editor.write(SCENE, "%YAML 1.1\n")
    editor.start()
    worker = WorkerProcess(settings, workdir, queues="generation,previews,maintenance")
    beat = BeatProcess(settings, workdir)
    worker.start()
    beat.start()
    yield Stack(server, editor)
    beat.stop()
    worker.stop()
    editor.stop()
    server.cleanup()


def offline_result(job: dict[str, Any]) -> dict[str, Any]:
    assert job["state"] == "succeeded", job["error"]
    result: dict[str, Any] = job["result"]
    assert (result["provider"], result["tokens"], result["cost"]) == (
        "offline",
        {"prompt": 0, "completion": 0},
        0.0,
    )
    return result


def test_the_three_plain_requests_plan_a_script_a_preview_and_a_build(
    stack: Stack, client: TestClient, api_key: str, db: Database
) -> None:
    project_id = new_project(client, api_key, stack.server.url)
    put(db, project_id, "Assets/Scenes/Credits.unity", "%YAML 1.1\n")
    put(db, project_id, SCENE, "%YAML 1.1\n")
    session = f"s-{uuid.uuid4().hex[:8]}"

    job = ask(client, api_key, db, "make a player controller that jumps", project_id, session)
    result = offline_result(job)
    [script] = children(client, api_key, job["id"])
    assert (script["kind"], script["state"]) == ("generate_script", "succeeded")
    assert script["params"]["class_name"] == "PlayerController"
    assert files.read(db, uuid.UUID(project_id), "Assets/Scripts/PlayerController.cs") is not None
    assert result["calls"] == [
        {"tool": "generate_script", "job_id": script["id"], "status": "succeeded"}
    ]
    assert f"generate_script: succeeded (job {script['id']})" in result["text"]

    job = ask(client, api_key, db, "preview the main scene", project_id, session)
    result = offline_result(job)
    [shot] = children(client, api_key, job["id"])
    assert (shot["kind"], shot["state"], shot["params"]["scene"]) == (
        "render_preview",
        "succeeded",
        SCENE,
    )
    frame = client.get(f"/v1/jobs/{shot['id']}/artifacts/preview.png", headers=auth(api_key))
    assert frame.status_code == 200
    assert "render_preview: succeeded" in result["text"]

    # No builder here: the build is planned and queued for WebGL, then the turn is canceled.
    body = {"kind": "assist", "params": {"text": "build for WebGL"}, "project_id": project_id}
    resp = client.post("/v1/jobs", json={**body, "session_id": session}, headers=auth(api_key))
    assert resp.status_code == 202, resp.text
    turn_id = resp.json()["id"]
    build = wait_child(client, api_key, turn_id)
    assert (build["kind"], build["params"]["target"]) == ("unity_build", "WebGL")
    assert client.post(f"/v1/jobs/{turn_id}/cancel", headers=auth(api_key)).status_code == 202
    turn = wait_state(db, turn_id, TERMINAL, timeout=60)
    assert turn.state.value == "canceled"
    assert turn.result is not None
    assert turn.result["calls"] == [
        {"tool": "unity_build", "job_id": build["id"], "status": "canceled"}
    ]


def wait_child(client: TestClient, key: str, parent_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = children(client, key, parent_id)
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"job {parent_id} started no child")


def test_a_request_it_cannot_plan_runs_nothing_and_says_so(
    stack: Stack, client: TestClient, api_key: str, db: Database
) -> None:
    job = ask(client, api_key, db, "sing me a song about databases", None, "default")
    result = offline_result(job)
    assert result["calls"] == []
    assert "did not understand" in result["text"]
    assert children(client, api_key, job["id"]) == []


def session_events(db: Database, session_id: str) -> list[tuple[str, str | None]]:
    with db.transaction() as tx:
        rows = tx.all(
            text(
                "SELECT type, CAST(job_id AS text) AS job_id FROM spark_events"
                " WHERE session_id = :s AND subject LIKE 'spark.session.%' ORDER BY ts"
            ),
            {"s": session_id},
        )
    return [(row.type, row.job_id) for row in rows]


def test_a_sessions_message_queues_its_turn_on_the_sessions_project_and_is_announced(
    stack: Stack, client: TestClient, api_key: str, other_key: str, db: Database
) -> None:
    project_id = new_project(client, api_key)
    opened = client.post("/v1/sessions", json={"project_id": project_id}, headers=auth(api_key))
    assert opened.status_code == 201, opened.text
    session_id = opened.json()["id"]
    url = f"/v1/sessions/{session_id}/messages"
    said = "make a player controller that jumps"
    resp = client.post(url, json={"text": said}, headers=auth(api_key))
    assert resp.status_code == 202, resp.text
    turn = resp.json()
    assert resp.headers["location"] == f"/v1/jobs/{turn['id']}"
    assert (turn["kind"], turn["session_id"], turn["project_id"]) == (
        "assist",
        session_id,
        project_id,
    )
    # what the key may do is stored with the turn, for its calls to be checked against
    caller = {"tier": "pro", "permissions": ["spark:build", "spark:generate", "spark:read"]}
    assert turn["params"] == {"text": said, "caller": caller}
    ended = wait_state(db, turn["id"], TERMINAL, timeout=60)
    assert ended.state.value == "succeeded", ended.error
    [script] = children(client, api_key, turn["id"])
    assert files.read(db, uuid.UUID(project_id), "Assets/Scripts/PlayerController.cs") is not None
    shown = client.get(f"/v1/sessions/{session_id}", headers=auth(api_key)).json()
    assert [(m["role"], m["job_id"]) for m in shown["messages"]] == [
        ("user", turn["id"]),
        ("assistant", turn["id"]),
    ]
    assert shown["messages"][0]["text"] == said
    assert {j["id"] for j in shown["jobs"]["items"]} == {turn["id"], script["id"]}
    wait_for(lambda: ("message", turn["id"]) in session_events(db, session_id), "the message")
    # another user's session is as unknown as none; an ended one takes no more messages
    assert client.post(url, json={"text": "hi"}, headers=auth(other_key)).status_code == 404
    assert client.post(url, json={"text": ""}, headers=auth(api_key)).status_code == 422
    assert client.post(f"/v1/sessions/{session_id}/end", headers=auth(api_key)).status_code == 200
    late = client.post(url, json={"text": "one more thing"}, headers=auth(api_key))
    assert (late.status_code, late.json()["error"]["code"]) == (409, "session_ended")
