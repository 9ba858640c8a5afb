"""Deleting a project file: a tombstone version that listing and content hide, history shows,
rollback undoes, export and import carry, and a build lays over as the file's removal."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from fakes.unity import make_unity_project
from spark.cli import app as cli_app
from spark.config import Settings
from spark.db.executor import Database
from spark.domain.files import EMPTY_SHA256, Author, sha256_of
from spark.projects import files
from tests.acceptance.test_builds import built_hashes, create_project, submit_build
from tests.support.builds import builds_only_worker
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.workers import ApiProcess, WorkerProcess

ALICE = Author("alice")
COIN = "Assets/Scripts/Coin.cs"
GEM = "Assets/Scripts/Gem.cs"


@pytest.fixture(scope="module")
def build_worker(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A builds-only worker with the Unity stand-in as its editor."""
    proc = builds_only_worker(settings, tmp_path_factory.mktemp("deletion-build-worker"))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def project(client: TestClient, api_key: str, db: Database, tmp_path: Path) -> str:
    """Alice's project with Coin.cs at versions 1 and 2 and Gem.cs at version 1."""
    project_id: str = create_project(client, api_key, make_unity_project(tmp_path / "Game"))["id"]
    for path, content in ((COIN, b"coin 1"), (COIN, b"coin 2"), (GEM, b"gem 1")):
        files.write(db, uuid.UUID(project_id), path, content, ALICE, "edit")
    return project_id


def url(project_id: str, path: str = "") -> str:
    return f"/v1/projects/{project_id}/files" + (f"/{path}" if path else "")


def delete(client: TestClient, key: str, project_id: str, path: str, **params: Any) -> Any:
    return client.delete(url(project_id, path), params=params, headers=auth(key))


def listed(client: TestClient, key: str, project_id: str, **params: Any) -> list[str]:
    resp = client.get(url(project_id), params=params, headers=auth(key))
    assert resp.status_code == 200, resp.text
    return [item["path"] for item in resp.json()["items"]]


def test_a_deleted_file_is_hidden_from_listing_and_content_and_shown_in_history(
    client: TestClient, api_key: str, project: str
) -> None:
    """DELETE answers the tombstone; the path leaves the listing (with a prefix and paged
    too), its content is 404 as JSON and as bytes, an earlier version still reads, and
    history shows the tombstone newest."""
    resp = delete(client, api_key, project, COIN, message="no more coins")
    assert resp.status_code == 200, resp.text
    tombstone = resp.json()
    assert tombstone["version"] == 3 and tombstone["deleted"] is True
    assert (tombstone["sha256"], tombstone["size"]) == (EMPTY_SHA256, 0)
    assert tombstone["author"]["user"] == "alice" and tombstone["message"] == "no more coins"

    assert listed(client, api_key, project) == [GEM]
    assert listed(client, api_key, project, prefix="Assets/Scripts/C") == []
    assert listed(client, api_key, project, limit=1) == [GEM]
    for accept in ("application/json", "application/octet-stream"):
        gone = client.get(url(project, COIN), headers={**auth(api_key), "Accept": accept})
        assert gone.status_code == 404, gone.text
    tomb = client.get(url(project, COIN), params={"version": 3}, headers=auth(api_key))
    assert tomb.status_code == 404
    old = client.get(url(project, COIN), params={"version": 2}, headers=auth(api_key))
    assert old.status_code == 200 and old.json()["content"] == "coin 2"
    assert old.json()["deleted"] is False

    history = client.get(url(project, COIN) + "/history", headers=auth(api_key)).json()["items"]
    assert [(v["version"], v["deleted"]) for v in history] == [(3, True), (2, False), (1, False)]

    again = delete(client, api_key, project, COIN)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    never = delete(client, api_key, project, "Assets/Scripts/Never.cs")
    assert never.status_code == 404


def test_rollback_restores_a_deleted_file_and_rolling_back_to_the_tombstone_deletes_it_again(
    client: TestClient, api_key: str, project: str
) -> None:
    """Rollback to version 1 writes its content as version 4; rollback to the tombstone (3)
    writes a new tombstone (5)."""
    assert delete(client, api_key, project, COIN).status_code == 200
    rollback = f"{url(project, COIN)}/rollback"
    restored = client.post(rollback, json={"to_version": 1}, headers=auth(api_key))
    assert restored.status_code == 201, restored.text
    assert restored.json()["version"] == 4 and restored.json()["deleted"] is False
    assert client.get(url(project, COIN), headers=auth(api_key)).json()["content"] == "coin 1"
    assert listed(client, api_key, project) == [COIN, GEM]

    redeleted = client.post(rollback, json={"to_version": 3}, headers=auth(api_key))
    assert redeleted.status_code == 201, redeleted.text
    assert redeleted.json()["version"] == 5 and redeleted.json()["deleted"] is True
    assert listed(client, api_key, project) == [GEM]


def test_writing_a_deleted_path_continues_its_numbering_and_base_version_is_compared(
    client: TestClient, api_key: str, db: Database, project: str
) -> None:
    """A stale base_version is 409 naming the current version; the tombstone's own number is
    the base a write after it must give."""
    stale = delete(client, api_key, project, COIN, base_version=1)
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"]["details"] == {"current_version": 2, "base_version": 1}
    assert listed(client, api_key, project) == [COIN, GEM]
    assert delete(client, api_key, project, COIN, base_version=2).status_code == 200

    project_id = uuid.UUID(project)
    with pytest.raises(Exception, match="not 2"):
        files.write(db, project_id, COIN, b"coin again", ALICE, "back", base_version=2)
    written = files.write(db, project_id, COIN, b"coin again", ALICE, "back", base_version=3)
    assert written.version == 4 and not written.deleted
    shown = client.get(url(project, COIN), headers=auth(api_key)).json()
    assert (shown["version"], shown["content"]) == (4, "coin again")


def test_another_users_project_is_404_and_nothing_is_deleted(
    client: TestClient, api_key: str, other_key: str, project: str
) -> None:
    resp = delete(client, other_key, project, COIN)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"
    assert listed(client, api_key, project) == [COIN, GEM]


def test_export_and_import_carry_tombstones(
    client: TestClient, api_key: str, tmp_path: Path, project: str
) -> None:
    """The exported history holds the tombstone; imported elsewhere, the path stays deleted."""
    assert delete(client, api_key, project, COIN).status_code == 200
    exported = client.get(f"/v1/projects/{project}/history/export", headers=auth(api_key))
    document = exported.json()
    coin = next(f for f in document["files"] if f["path"] == COIN)
    assert [v["deleted"] for v in coin["versions"]] == [False, False, True]
    assert coin["versions"][2]["content"] == ""

    target = create_project(client, api_key, make_unity_project(tmp_path / "Copy"))["id"]
    imported = client.post(
        f"/v1/projects/{target}/history/import", json=document, headers=auth(api_key)
    )
    assert imported.status_code == 201, imported.text
    assert [f["path"] for f in imported.json()["files"]] == [GEM]
    assert listed(client, api_key, target) == [GEM]
    history = client.get(url(target, COIN) + "/history", headers=auth(api_key)).json()["items"]
    assert [v["deleted"] for v in history] == [True, False, False]

    document["files"][0]["versions"][-1]["content"] = "x"
    document["files"][0]["versions"][-1]["sha256"] = sha256_of(b"x")
    document["files"][0]["versions"][-1]["size"] = 1
    refused = client.post(
        f"/v1/projects/{target}/history/import", json=document, headers=auth(api_key)
    )
    assert refused.status_code == 422, refused.text


def test_spark_files_rm_deletes_and_refuses_a_stale_base_version(
    api_server: ApiProcess, api_key: str, project: str
) -> None:
    env = {"SPARK_API_URL": api_server.url, "SPARK_API_KEY": api_key}
    runner = CliRunner()
    stale = runner.invoke(cli_app, ["files", "rm", project, COIN, "--base-version", "1"], env=env)
    assert stale.exit_code != 0 and "version" in stale.output
    args = ["files", "rm", project, COIN, "--base-version", "2", "--json"]
    done = runner.invoke(cli_app, args, env=env)
    assert done.exit_code == 0, done.output
    assert '"deleted": true' in done.output


def test_a_build_lays_a_deletion_over_its_workspace(
    build_worker: WorkerProcess,
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
) -> None:
    """The source has Coin.cs and Gem.cs; SPARK deleted Coin.cs: the workspace Unity builds
    lacks it, keeps Gem.cs, and the result names the deletion; the source is untouched."""
    source = make_unity_project(tmp_path / "Overlaid", manifest=True)
    (source / "Assets" / "Scripts").mkdir()
    (source / COIN).write_bytes(b"class Coin {}\n")
    (source / GEM).write_bytes(b"class Gem {}\n")
    project = create_project(client, api_key, source)
    project_id = uuid.UUID(project["id"])
    files.write(db, project_id, COIN, b"class Coin { int v; }\n", ALICE, "a coin")
    files.delete(db, project_id, COIN, ALICE, "no coins")

    job = wait_state(db, submit_build(client, api_key, project["id"]), TERMINAL, timeout=60)
    assert job.state.value == "succeeded", job.error
    built = built_hashes(client, api_key, str(job.id))
    assert COIN not in built
    assert built[GEM] == sha256_of(b"class Gem {}\n")
    assert dict(job.result or {})["files"] == [
        {"path": COIN, "version": 2, "sha256": EMPTY_SHA256, "deleted": True}
    ]
    assert (source / COIN).read_bytes() == b"class Coin {}\n"
