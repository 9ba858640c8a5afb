"""Sources a builder on another machine can reach: a git server (git daemon or smart HTTP)
cloned into the builder's own workspace and fetched again for the next build, SPARK's file
store imported from a Unity project directory with `spark files import`, and a directory
that exists only on the API host failing the build `source_unreachable` naming the builder."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from fakes.unity import make_unity_project
from spark.cli import app as cli_app
from spark.config import Settings
from spark.contracts.paths import MAX_CODE_BYTES
from spark.db.executor import Database
from spark.domain.jobs import Job
from spark.web.app import create_app
from tests.support.builds import builds_only_worker
from tests.support.git_servers import GitDaemon, SmartHttp, git, publish
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.workers import ApiProcess, WorkerProcess

#: bytes that are not UTF-8, as a texture's are
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Standing for /srv/sources on the API host: a folder per user."""
    return tmp_path_factory.mktemp("api-host") / "sources"


@pytest.fixture(scope="module")
def builder(
    settings: Settings, sources: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A builds-only worker whose roots are the API host's, where nothing lies yet."""
    roots = json.dumps([str(sources / "{user}")])
    proc = builds_only_worker(
        settings, tmp_path_factory.mktemp("builder"), SPARK_SOURCE_ROOTS=roots
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def api(settings: Settings, sources: Path) -> Iterator[TestClient]:
    """The API with SPARK_SOURCE_ROOTS=["<sources>/{user}"]."""
    roots = settings.model_copy(update={"source_roots": [sources / "{user}"]})
    with TestClient(create_app(roots), raise_server_exceptions=False) as client:
        yield client


def register(client: TestClient, key: str, **body: Any) -> str:
    resp = client.post("/v1/projects", json={"name": "Game", **body}, headers=auth(key))
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def build(client: TestClient, key: str, db: Database, project_id: str) -> Job:
    body = {"kind": "unity_build", "project_id": project_id, "params": {"target": "WebGL"}}
    resp = client.post("/v1/jobs", json=body, headers=auth(key))
    assert resp.status_code == 202, resp.text
    return wait_state(db, resp.json()["id"], TERMINAL, timeout=60)


def succeeded(job: Job) -> dict[str, Any]:
    assert job.state.value == "succeeded", job.error
    assert job.result is not None
    return dict(job.result)


@pytest.fixture
def served(tmp_path: Path) -> tuple[Path, Path]:
    """A Unity project's work tree and the bare repository under base/ it is pushed to."""
    work = make_unity_project(tmp_path / "work")
    base = tmp_path / "base"
    base.mkdir()
    return work, base / "game.git"


@pytest.mark.parametrize("server", [GitDaemon, SmartHttp], ids=["git-daemon", "smart-http"])
def test_a_git_server_is_cloned_on_the_builder_and_fetched_for_the_next_build(
    builder: WorkerProcess,
    api: TestClient,
    api_key: str,
    db: Database,
    served: tuple[Path, Path],
    server: type[GitDaemon | SmartHttp],
) -> None:
    """Each build records the commit it built; the second fetches the commit pushed since
    into the workspace the first cloned (that builder's cache)."""
    work, bare = served
    first = publish(work, bare)
    with server(bare.parent) as serving:
        project_id = register(api, api_key, git_url=f"{serving.url}/game.git")
        assert succeeded(build(api, api_key, db, project_id))["revision"] == first

        (work / "Assets" / "Scripts").mkdir()
        (work / "Assets" / "Scripts" / "Coin.cs").write_text("class Coin {}\n")
        second = publish(work, bare)
        assert succeeded(build(api, api_key, db, project_id))["revision"] == second
    workspace = builder.workdir / "workspaces" / project_id
    assert git(workspace, "rev-parse", "HEAD") == second
    assert (workspace / "Assets" / "Scripts" / "Coin.cs").is_file()


def test_a_directory_only_the_api_host_has_fails_source_unreachable_naming_the_builder(
    builder: WorkerProcess, api: TestClient, api_key: str, db: Database, sources: Path
) -> None:
    """The API saw the folder at registration; the builder has no such folder."""
    game = make_unity_project(sources / "alice" / "on-the-api-host")
    project_id = register(api, api_key, source_dir=str(game))
    shutil.rmtree(game)  # this test's builder shares the API's disk: take the folder away
    job = build(api, api_key, db, project_id)
    assert job.state.value == "failed" and job.error is not None
    assert job.error.code == "source_unreachable", job.error
    host = socket.gethostname()
    assert str(game) in job.error.message and host in job.error.message
    assert job.error.details == {"field": "source_dir", "host": host}


def spark_files(server: ApiProcess, key: str, *args: str) -> Any:
    """`spark files …` against the API server; its --json output."""
    env = {"SPARK_API_URL": server.url, "SPARK_API_KEY": key}
    done = CliRunner().invoke(cli_app, ["files", *args, "--json"], env=env)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


@pytest.fixture
def unity_dir(tmp_path: Path) -> Path:
    """A Unity project as a developer has it: settings, packages, a texture, caches."""
    root = make_unity_project(tmp_path / "Game")
    (root / "ProjectSettings" / "EditorBuildSettings.asset").write_text("%YAML 1.1\n")
    (root / "Packages").mkdir()
    (root / "Packages" / "manifest.json").write_text('{"dependencies": {}}\n')
    (root / "Assets" / "Art").mkdir()
    (root / "Assets" / "Art" / "icon.png").write_bytes(PNG)
    (root / "Assets" / "Art" / "huge.png").write_bytes(b"\x89" * (MAX_CODE_BYTES + 1))
    (root / "Library").mkdir()
    (root / "Library" / "ArtifactDB").write_bytes(b"a cache no builder needs")
    return root


def test_a_project_imported_as_files_builds_from_sparks_files_alone(
    builder: WorkerProcess,
    api_server: ApiProcess,
    client: TestClient,
    api_key: str,
    db: Database,
    unity_dir: Path,
) -> None:
    """Text and binary files under Assets/, Packages/ and ProjectSettings/ are imported
    (caches and files over the store's limit are not); the build lays exactly them into an
    empty workspace and records no revision; a second import writes nothing again."""
    project_id = register(client, api_key, name="Imported")
    done = spark_files(api_server, api_key, "import", "Imported", str(unity_dir))
    expected = [
        "Assets/Art/icon.png",
        "Assets/Scenes/Main.unity",
        "Packages/manifest.json",
        "ProjectSettings/EditorBuildSettings.asset",
        "ProjectSettings/ProjectVersion.txt",
    ]
    assert done["written"] == expected
    assert done["too_large"] == ["Assets/Art/huge.png"] and done["requests"] == 1
    shown = client.get(
        f"/v1/projects/{project_id}/files/Assets/Art/icon.png",
        headers={**auth(api_key), "Accept": "application/octet-stream"},
    )
    assert shown.content == PNG

    result = succeeded(build(client, api_key, db, project_id))
    assert result["revision"] is None
    assert [f["path"] for f in result["files"]] == expected
    workspace = builder.workdir / "workspaces" / project_id
    assert not (workspace / "Library" / "ArtifactDB").exists()
    assert (workspace / "Assets" / "Art" / "icon.png").read_bytes() == PNG

    (unity_dir / "Assets" / "Scenes" / "Main.unity").write_text("%YAML 1.1\n# edited\n")
    again = spark_files(api_server, api_key, "import", project_id, str(unity_dir))
    assert again["written"] == [] and again["unchanged"] == 4
    assert again["differing"] == ["Assets/Scenes/Main.unity"]
