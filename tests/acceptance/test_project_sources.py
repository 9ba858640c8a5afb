"""SPARK_SOURCE_ROOTS: with it unset no project reads a directory of the build machines; set,
a project's directory (resolved) lies under one of the caller's roots and belongs to one
owner; the build worker checks again, so a symlink swapped in later reaches nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from fakes.unity import make_unity_project
from spark.config import Settings
from spark.db.executor import Database
from spark.domain.projects import file_url
from spark.web.app import create_app
from tests.support.builds import builds_only_worker
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.workers import WorkerProcess

SECRET = "root:x:0:0:the secret outside every root\n"


def post(client: TestClient, key: str, **body: Any) -> Any:
    return client.post("/v1/projects", json={"name": "Game", **body}, headers=auth(key))


def refusal(resp: Any) -> tuple[int, str | None]:
    """The status and, for a 422, the field it names."""
    if resp.status_code != 422:
        return resp.status_code, None
    return 422, resp.json()["error"]["details"]["field"]


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Standing for /srv/sources: a folder per user; the secret lies outside all of them."""
    base = tmp_path_factory.mktemp("farm")
    (base / "outside").mkdir()
    (base / "outside" / "passwd").write_text(SECRET)
    (base / "sources").mkdir()
    return base / "sources"


@pytest.fixture
def alice_game(sources: Path, tmp_path: Path) -> Path:
    """A Unity project in alice's folder, new for each test."""
    return make_unity_project(sources / "alice" / tmp_path.name)


@pytest.fixture
def per_user(settings: Settings, sources: Path) -> Iterator[TestClient]:
    """The API with SPARK_SOURCE_ROOTS=["<sources>/{user}"]."""
    roots = settings.model_copy(update={"source_roots": [sources / "{user}"]})
    with TestClient(create_app(roots), raise_server_exceptions=False) as client:
        yield client


def test_with_roots_unset_no_directory_or_file_url_may_be_registered(
    settings: Settings, api_key: str
) -> None:
    """The default refuses /etc (422 naming the setting and the field); remote git is fine."""
    unset = settings.model_copy(update={"source_roots": None})
    with TestClient(create_app(unset), raise_server_exceptions=False) as client:
        for body, field in (
            ({"source_dir": "/etc"}, "source_dir"),
            ({"git_url": "file:///etc"}, "git_url"),
        ):
            resp = post(client, api_key, **body)
            assert refusal(resp) == (422, field), resp.text
            assert "SPARK_SOURCE_ROOTS" in resp.json()["error"]["message"]
        remote = post(client, api_key, git_url="https://git.example.com/game.git")
        assert remote.status_code == 201, remote.text
        assert len(client.get("/v1/projects", headers=auth(api_key)).json()["items"]) == 1


def test_with_a_root_per_user_alice_registers_only_under_her_own(
    per_user: TestClient, api_key: str, sources: Path, alice_game: Path, tmp_path: Path
) -> None:
    """Escapes by absolute path, `..`, %-escapes, a prefix sibling or a symlink are 422."""
    sibling = make_unity_project(sources / "alice2" / tmp_path.name)
    link = sources / "alice" / f"{tmp_path.name}-etc"
    link.symlink_to("/etc")
    escapes = [
        *("/etc", "/root", "/proc/self", "/", str(sibling), str(link)),
        f"{sources}/alice/../alice2/{tmp_path.name}",
        f"{alice_game}/../../bob",
    ]
    for path in escapes:
        resp = post(per_user, api_key, source_dir=path)
        assert refusal(resp) == (422, "source_dir"), (path, resp.text)
        assert "SPARK_SOURCE_ROOTS" in resp.json()["error"]["message"]
    for url in ("file:///etc", f"file://{sources}/alice/%2e%2e/alice2/{tmp_path.name}"):
        assert refusal(post(per_user, api_key, git_url=url)) == (422, "git_url"), url

    made = post(per_user, api_key, source_dir=f"{sources}/alice/./{tmp_path.name}")
    assert made.status_code == 201, made.text
    assert made.json()["source"] == {"dir": str(alice_game.resolve())}


def test_bob_cannot_register_alices_directory(
    per_user: TestClient, api_key: str, other_key: str, alice_game: Path
) -> None:
    """Under per-user roots another user's directory lies under none of bob's."""
    assert post(per_user, api_key, source_dir=str(alice_game)).status_code == 201
    resp = post(per_user, other_key, source_dir=str(alice_game))
    assert refusal(resp) == (422, "source_dir"), resp.text
    assert refusal(post(per_user, other_key, git_url=file_url(alice_game))) == (422, "git_url")


def test_a_directory_belongs_to_one_owner_with_all_inside_and_around_it(
    settings: Settings, api_key: str, other_key: str, tmp_path: Path
) -> None:
    """With one root everyone shares, the first owner of a directory keeps it: another user
    may not register it, a folder inside it or one containing it (each would build the
    owner's files), by any path; the owner may, and a prefix sibling is someone else's."""
    shared = tmp_path / "shared"
    game = make_unity_project(shared / "game")
    make_unity_project(shared / "game2")
    (shared / "link").symlink_to(game)
    one_root = settings.model_copy(update={"source_roots": [shared]})
    with TestClient(create_app(one_root), raise_server_exceptions=False) as client:
        assert post(client, api_key, git_url=f"file://{game}").status_code == 201
        assert post(client, api_key, name="Assets", source_dir=f"{game}/Assets").status_code == 201
        claimed = [
            {"source_dir": str(game)},
            {"source_dir": f"{game}/Assets/Scenes"},
            {"source_dir": str(shared)},
            {"source_dir": str(shared / "link")},
            {"git_url": f"file://localhost{game}/Assets"},
        ]
        for body in claimed:
            resp = post(client, other_key, **body)
            assert refusal(resp) == (422, next(iter(body))), (body, resp.text)
            assert "another user's project" in resp.json()["error"]["message"]
        sibling = post(client, other_key, source_dir=str(shared / "game2"))
        assert sibling.status_code == 201, sibling.text


@pytest.fixture(scope="module")
def build_worker(
    settings: Settings, sources: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A builds-only worker with the same per-user roots as the API."""
    roots = json.dumps([str(sources / "{user}")])
    proc = builds_only_worker(
        settings, tmp_path_factory.mktemp("build-worker"), SPARK_SOURCE_ROOTS=roots
    )
    proc.start()
    yield proc
    proc.stop()


def build(client: TestClient, key: str, db: Database, project_id: str) -> Any:
    body = {"kind": "unity_build", "project_id": project_id, "params": {"target": "WebGL"}}
    resp = client.post("/v1/jobs", json=body, headers=auth(key))
    assert resp.status_code == 202, resp.text
    return wait_state(db, resp.json()["id"], TERMINAL, timeout=60)


def test_a_symlink_swapped_in_after_registration_is_caught_by_the_builder(
    build_worker: WorkerProcess,
    per_user: TestClient,
    api_key: str,
    db: Database,
    sources: Path,
    alice_game: Path,
) -> None:
    """alice's project builds; she swaps its folder for a symlink to a project outside the
    roots holding a secret: the build fails source_unreachable and copies none of it."""
    made = post(per_user, api_key, source_dir=str(alice_game))
    assert made.status_code == 201, made.text
    project_id = made.json()["id"]
    first = build(per_user, api_key, db, project_id)
    assert first.state.value == "succeeded", first.error

    outside = make_unity_project(sources.parent / "outside" / alice_game.name)
    (outside / "Assets" / "passwd.txt").write_text(SECRET)
    alice_game.rename(alice_game.with_name(alice_game.name + "-moved"))
    alice_game.symlink_to(outside)

    job = build(per_user, api_key, db, project_id)
    assert job.state.value == "failed" and job.error is not None
    assert job.error.code == "source_unreachable", job.error
    assert str(outside) in job.error.message
    workspace = build_worker.workdir / "workspaces" / project_id
    copied = [Path(folder) / name for folder, _, names in os.walk(workspace) for name in names]
    assert copied and not any(path.name == "passwd.txt" for path in copied)
