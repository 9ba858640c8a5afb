"""Deleting a project file through the API deletes it in the project's Unity editor too, when
the editor still holds the version deleted: a real worker, the API in-process, and unity-mcp's
real server on 127.0.0.1 with a stand-in Unity Editor connected to its plugin hub."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.security.apikeys import create_key
from tests.acceptance.test_editor_push import COIN_FIXED, PATH, Editor, project_on, run, sha
from tests.support.jobs import auth
from tests.support.services import free_port
from tests.support.unity_editor import EditorStandIn
from tests.support.unity_mcp_real import UnityMcpServer
from tests.support.workers import WorkerProcess

META = PATH + ".meta"


@pytest.fixture(scope="module")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """Patches write the files; the maintenance queue takes the API's pushes."""
    workdir = Path(tmp_path_factory.mktemp("deletion-worker"))
    proc = WorkerProcess(settings, workdir, queues="patches,maintenance", concurrency=1)
    proc.start()
    yield proc
    proc.stop()


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


def until(done: Callable[[], bool], what: Callable[[], object], timeout: float = 30) -> None:
    """Return once done() holds; fail naming what() after timeout."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, what()
        time.sleep(0.1)


def refreshed_after_the_deletion(editor: Editor) -> bool:
    """The editor imported and compiled after the last deletion, and its console was read:
    the push is over, so the editor may go without failing it."""
    calls = [(name, params.get("action")) for _, name, params in editor.standin.calls]
    deletions = [i for i, call in enumerate(calls) if call == ("manage_script", "delete")]
    after = [name for name, _ in calls[deletions[-1] + 1 :]] if deletions else []
    return "refresh_unity" in after and "read_console" in after


def lines(worker: WorkerProcess, *words: str) -> list[str]:
    """The worker's log lines holding every one of words."""
    return [line for line in worker.log().splitlines() if all(w in line for w in words)]


def pushed_coin(client: TestClient, db: Database, key: str, editor: Editor) -> str:
    """A project whose Coin.cs a job wrote and pushed into the editor (with its .meta)."""
    project = project_on(client, key, editor)
    patch = {"path": PATH, "patch_type": "full", "content": COIN_FIXED}
    result = run(client, db, key, project, "apply_patch", patch)
    assert result["editor"]["pushed"] == [PATH] and editor.file(PATH) == COIN_FIXED.encode()
    editor.put(META, b"fileFormatVersion: 2\nguid: 0123456789abcdef\n")  # Unity's import
    return project


def test_a_file_deleted_through_the_api_is_deleted_in_the_editor(
    worker: WorkerProcess, client: TestClient, db: Database, key: str, editor: Editor
) -> None:
    """The API asks a worker to delete the editor's copy over the version deleted; the editor
    then imports and compiles without it."""
    project = pushed_coin(client, db, key, editor)
    resp = client.delete(f"/v1/projects/{project}/files/{PATH}", headers=auth(key))
    assert resp.status_code == 200 and resp.json()["deleted"] is True, resp.text
    until(lambda: editor.file(PATH) is None, editor.names)
    assert editor.file(META) is None
    [deleted] = editor.commands("manage_script:delete")
    assert (deleted["name"], deleted["path"]) == ("Coin", "Assets/Scripts")
    until(lambda: refreshed_after_the_deletion(editor), editor.names)


def test_a_deletion_over_a_copy_edited_in_the_editor_leaves_it_and_reports_it_stale(
    worker: WorkerProcess, client: TestClient, db: Database, key: str, editor: Editor
) -> None:
    project = pushed_coin(client, db, key, editor)
    theirs = COIN_FIXED.replace("Update", "FixedUpdate").encode()
    editor.put(PATH, theirs)  # someone works on the script in Unity
    resp = client.delete(f"/v1/projects/{project}/files/{PATH}", headers=auth(key))
    assert resp.status_code == 200, resp.text
    version = resp.json()["version"]
    stale = f"pushing {PATH} version {version} to its editor:"
    until(lambda: bool(lines(worker, stale, sha(theirs))), lambda: worker.log()[-3000:])
    [line] = lines(worker, stale, sha(theirs))
    assert "'stale': [{" in line and sha(COIN_FIXED.encode()) in line
    assert editor.file(PATH) == theirs and editor.commands("manage_script:delete") == []


def test_a_rollback_to_a_tombstone_deletes_the_file_in_the_editor_again(
    worker: WorkerProcess, client: TestClient, db: Database, key: str, editor: Editor
) -> None:
    """Deleted (version 2), restored by rollback to version 1 (version 3, pushed back into the
    editor), then rolled back to the tombstone: the editor loses the file again."""
    project = pushed_coin(client, db, key, editor)
    url = f"/v1/projects/{project}/files/{PATH}"
    assert client.delete(url, headers=auth(key)).status_code == 200
    until(lambda: editor.file(PATH) is None, editor.names)
    restored = client.post(f"{url}/rollback", json={"to_version": 1}, headers=auth(key))
    assert restored.status_code == 201, restored.text
    until(lambda: editor.file(PATH) == COIN_FIXED.encode(), editor.names)
    again = client.post(f"{url}/rollback", json={"to_version": 2}, headers=auth(key))
    assert again.status_code == 201 and again.json()["deleted"] is True, again.text
    until(lambda: editor.file(PATH) is None, editor.names)
    assert len(editor.commands("manage_script:delete")) == 2
    until(lambda: refreshed_after_the_deletion(editor), editor.names)
