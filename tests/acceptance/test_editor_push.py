"""Files a job writes reach the project's Unity editor: a real worker, the API in-process, and
unity-mcp's real server on 127.0.0.1 (a project's `unity_mcp_url`) with a stand-in Unity
Editor connected to its plugin hub."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from spark.domain.files import Author
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.projects import files
from spark.security.apikeys import create_key
from tests.support.fake_llm import FakeLLM, Reply
from tests.support.jobs import assert_result_matches_its_model, auth, wait_state
from tests.support.services import free_port
from tests.support.unity_editor import EditorStandIn
from tests.support.unity_mcp_real import UnityMcpServer
from tests.support.workers import WorkerProcess

PATH = "Assets/Scripts/Coin.cs"
#: what the model writes: valid C#, but the stand-in editor's compiler reports every `#error` line
COIN = (
    "using UnityEngine;\n\n"
    "public class Coin : MonoBehaviour\n{\n"
    "#error Coin needs a Rigidbody2D\n"
    "    void Update() { }\n}\n"
)
COIN_FIXED = (
    "using UnityEngine;\n\npublic class Coin : MonoBehaviour\n{\n    void Update() { }\n}\n"
)
SCRIPT = {"prompt": "a coin the player collects", "class_name": "Coin", "write_to_project": True}


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    """The model: the broken coin first, then the fixed one for every later script."""
    server = FakeLLM([Reply(code=COIN), Reply(code=COIN_FIXED)]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def worker(
    settings: Settings, llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(
        settings,
        Path(tmp_path_factory.mktemp("worker")),
        queues="generation,patches",
        concurrency=1,
        SPARK_LLM_BASE_URL=llm.base_url,
        SPARK_LLM_MODEL="fake-coder",
    )
    proc.start()
    yield proc
    proc.stop()


@dataclass
class Editor:
    """unity-mcp's server and the one Unity editor connected to it."""

    server: UnityMcpServer
    standin: EditorStandIn

    @property
    def url(self) -> str:
        return self.server.url

    def file(self, path: str) -> bytes | None:
        on_disk = self.standin.project_dir / path
        return on_disk.read_bytes() if on_disk.exists() else None

    def put(self, path: str, content: bytes) -> None:
        self.standin.write(path, content.decode())

    def commands(self, name: str) -> list[dict[str, Any]]:
        """The params of every `name` (or `name:action`) command the editor received."""
        command, _, action = name.partition(":")
        return [
            params
            for _, got, params in self.standin.calls
            if got == command and (not action or params.get("action") == action)
        ]

    def names(self) -> list[str]:
        return [command for _, command, _ in self.standin.calls]

    def stop(self) -> None:
        self.standin.stop()


@pytest.fixture(scope="module")
def server() -> Iterator[UnityMcpServer]:
    with UnityMcpServer(free_port()) as running:
        yield running


@pytest.fixture
def editor(server: UnityMcpServer, tmp_path: Path) -> Iterator[Editor]:
    """A new editor on the server, once it is the only one the server lists."""
    standin = EditorStandIn(server.hub_url, tmp_path / "Coins", "Coins", uuid.uuid4().hex[:8])
    standin.start()
    deadline = time.monotonic() + 10
    while len(server.instances()) != 1:
        assert time.monotonic() < deadline, server.instances()
        time.sleep(0.05)
    yield Editor(server, standin)
    standin.stop()


@pytest.fixture
def key(db: Database) -> str:
    return create_key(db, "alice", Tier.PRO, DEFAULT_PERMISSIONS).token


def project_on(
    client: TestClient, key: str, editor: Editor, unity_instance: str | None = None
) -> str:
    body = {
        "name": f"coins-{uuid.uuid4().hex[:6]}",
        "source_dir": "/srv/unity/coins",
        "unity_mcp_url": editor.url,
    }
    if unity_instance is not None:
        body["unity_instance"] = unity_instance
    resp = client.post("/v1/projects", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def run(
    client: TestClient,
    db: Database,
    key: str,
    project: str,
    kind: str,
    params: dict[str, Any],
    timeout: float = 60,
) -> dict[str, Any]:
    body = {"kind": kind, "project_id": project, "params": params}
    resp = client.post("/v1/jobs", json=body, headers=auth(key))
    assert resp.status_code == 202, resp.text
    job = wait_state(db, resp.json()["id"], {"succeeded", "failed"}, timeout=timeout)
    assert job.state.value == "succeeded", job.error
    assert job.result is not None
    assert_result_matches_its_model(kind, job.result)
    return dict(job.result)


def test_a_generated_script_reaches_the_editor_with_its_compiler_errors(
    worker: WorkerProcess, client: TestClient, db: Database, key: str, editor: Editor
) -> None:
    project = project_on(client, key, editor)
    first = run(client, db, key, project, "generate_script", SCRIPT)
    assert editor.file(PATH) == COIN.encode()
    assert first["editor"]["pushed"] == [PATH]
    assert first["editor"]["diagnostics"] == [
        {"file": PATH, "line": 5, "message": first["editor"]["diagnostics"][0]["message"]}
    ]
    assert "Rigidbody2D" in first["editor"]["diagnostics"][0]["message"]
    assert [d["source"] for d in first["diagnostics"]] == ["editor"]
    commands = editor.names()
    assert commands.index("refresh_unity") < commands.index("read_console")

    # The next version goes in only over the one SPARK wrote: its SHA-256 is the precondition.
    second = run(client, db, key, project, "generate_script", SCRIPT)
    assert second["version"] == 2 and editor.file(PATH) == COIN_FIXED.encode()
    edits = editor.commands("manage_script:apply_text_edits")
    assert edits[-1]["precondition_sha256"] == sha(COIN.encode())
    assert second["diagnostics"] == [] and second["editor"]["diagnostics"] == []


def test_a_script_edited_in_the_editor_is_reported_stale_and_kept(
    worker: WorkerProcess, client: TestClient, db: Database, key: str, editor: Editor
) -> None:
    project = project_on(client, key, editor)
    run(
        client,
        db,
        key,
        project,
        "apply_patch",
        {"path": PATH, "patch_type": "full", "content": COIN_FIXED},
    )
    theirs = COIN_FIXED.replace("Update", "FixedUpdate").encode()
    editor.put(PATH, theirs)  # someone works on the script in Unity
    ours = COIN_FIXED.replace("{ }", "{ transform.Rotate(0, 1, 0); }")
    result = run(
        client,
        db,
        key,
        project,
        "apply_patch",
        {"path": PATH, "patch_type": "full", "content": ours},
    )
    assert result["version"] == 2
    assert result["editor"]["stale"] == [
        {"path": PATH, "expected_sha256": sha(COIN_FIXED.encode()), "current_sha256": sha(theirs)}
    ]
    assert result["editor"]["pushed"] == []
    assert editor.file(PATH) == theirs


def test_an_editor_that_is_gone_does_not_fail_the_job(
    worker: WorkerProcess, client: TestClient, db: Database, key: str, editor: Editor
) -> None:
    project = project_on(client, key, editor)
    editor.stop()
    content = COIN_FIXED
    result = run(
        client,
        db,
        key,
        project,
        "apply_patch",
        {"path": PATH, "patch_type": "full", "content": content},
    )
    assert result["version"] == 1
    assert result["editor"]["error"].startswith("editor_unavailable: ")
    assert result["editor"]["pushed"] == []


def test_a_preset_pushes_its_scripts_and_names_the_files_the_editor_does_not_take(
    worker: WorkerProcess, client: TestClient, db: Database, key: str, editor: Editor
) -> None:
    """unity-mcp writes only C# scripts: the preset's settings file is refused, not lost."""
    project = project_on(client, key, editor)
    result = run(client, db, key, project, "apply_preset", {"preset_id": "2d-platformer"})
    written = [ref["path"] for ref in result["written"]]
    scripts = [path for path in written if path.endswith(".cs")]
    assert scripts and result["editor"]["pushed"] == scripts
    assert all(editor.file(path) is not None for path in scripts)
    refused = result["editor"]["refused"]
    assert [r["path"] for r in refused] == [p for p in written if not p.endswith(".cs")]
    assert all(r["error"].startswith("editor_error: ") for r in refused)
    assert len(editor.commands("refresh_unity")) == 1


def test_a_rollback_through_the_api_reaches_the_editor_over_the_version_it_replaced(
    client: TestClient,
    db: Database,
    key: str,
    editor: Editor,
    settings: Settings,
    tmp_path: Path,
) -> None:
    """The API has no editor bridge: it asks a worker (maintenance queue) to push the
    rollback's new version, with the replaced version's SHA-256 as precondition."""
    project = project_on(client, key, editor)
    first, second = COIN_FIXED.encode(), COIN_FIXED.replace("Update", "LateUpdate").encode()
    files.write(db, uuid.UUID(project), PATH, first, Author("alice"), "one")
    files.write(db, uuid.UUID(project), PATH, second, Author("alice"), "two")
    editor.put(PATH, second)  # the editor holds what SPARK last wrote
    upkeep = WorkerProcess(settings, tmp_path, queues="maintenance", concurrency=1)
    upkeep.start()
    try:
        url = f"/v1/projects/{project}/files/{PATH}/rollback"
        resp = client.post(url, json={"to_version": 1}, headers=auth(key))
        assert resp.status_code == 201 and resp.json()["version"] == 3, resp.text
        deadline = time.monotonic() + 20
        while editor.file(PATH) != first:
            assert time.monotonic() < deadline, editor.names()
            time.sleep(0.1)
    finally:
        upkeep.stop()
    edits = editor.commands("manage_script:apply_text_edits")
    assert edits[-1]["precondition_sha256"] == sha(second)


def test_the_projects_named_instance_gets_its_files_when_two_editors_are_connected(
    worker: WorkerProcess,
    client: TestClient,
    db: Database,
    key: str,
    editor: Editor,
    server: UnityMcpServer,
    tmp_path: Path,
) -> None:
    other = EditorStandIn(server.hub_url, tmp_path / "Other", "Other", uuid.uuid4().hex[:8])
    other.start()
    try:
        named = project_on(client, key, editor, unity_instance=other.instance_id)
        patch = {"path": PATH, "patch_type": "full", "content": COIN_FIXED}
        result = run(client, db, key, named, "apply_patch", patch)
        assert result["editor"]["pushed"] == [PATH]
        assert other.read(PATH) == COIN_FIXED and editor.file(PATH) is None
        unnamed = project_on(client, key, editor)
        result = run(client, db, key, unnamed, "apply_patch", patch)
        assert result["editor"]["pushed"] == []
        error = result["editor"]["error"]
        assert error.startswith("editor_error: ")
        assert other.instance_id in error and editor.standin.instance_id in error
    finally:
        other.stop()


def test_an_editor_that_ends_up_holding_other_text_is_reported_refused_not_pushed(
    worker: WorkerProcess, client: TestClient, db: Database, key: str, editor: Editor
) -> None:
    """An editor with Roslyn formats each edited script: SPARK's SHA-256 is not the editor's."""
    project = project_on(client, key, editor)
    patch = {"path": PATH, "patch_type": "full", "content": COIN_FIXED}
    run(client, db, key, project, "apply_patch", patch)
    editor.standin.reformat_on_edit = True
    changed = COIN_FIXED.replace("{ }", "{ transform.Rotate(0, 1, 0); }")
    result = run(client, db, key, project, "apply_patch", {**patch, "content": changed})
    assert result["editor"]["pushed"] == []
    [refused] = result["editor"]["refused"]
    assert refused["path"] == PATH
    assert sha(editor.file(PATH) or b"") in refused["error"]


def test_a_patch_the_editor_compiles_for_35_seconds_is_reported_pushed(
    worker: WorkerProcess, client: TestClient, db: Database, key: str, editor: Editor
) -> None:
    """unity-mcp holds a script write up to 30 s while the editor compiles, and the refresh
    after it until the compile ends: SPARK waits longer than the server does."""
    project = project_on(client, key, editor)
    patch = {"path": PATH, "patch_type": "full", "content": COIN_FIXED}
    run(client, db, key, project, "apply_patch", patch)
    editor.standin.compile_seconds = 35.0
    changed = COIN_FIXED.replace("{ }", "{ transform.Rotate(0, 1, 0); }")
    started = time.monotonic()
    result = run(client, db, key, project, "apply_patch", {**patch, "content": changed}, 150)
    assert time.monotonic() - started >= 30, "the server did not wait for the compile"
    assert result["editor"]["pushed"] == [PATH] and "error" not in result["editor"]
    assert editor.file(PATH) == changed.encode()
