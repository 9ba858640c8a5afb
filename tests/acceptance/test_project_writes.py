"""Generators writing into a project and export_package packing its current files, through
the API and a real worker."""

from __future__ import annotations

import io
import tarfile
import uuid
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from fakes.unity import make_unity_project
from spark.db.executor import Database
from spark.domain.files import Author, sha256_of
from spark.engines.unity.unity_yaml import meta_for_path, meta_guid, stable_guid
from spark.projects import files
from tests.acceptance.test_builds import create_project
from tests.support.jobs import TERMINAL, assert_result_matches_its_model, auth, wait_state
from tests.support.workers import WorkerProcess

ALICE = Author("alice")
#: a GUID Unity gave the material before SPARK ever generated it
IMPORTED_GUID = "0123456789abcdef0123456789abcdef"


def run_in(
    client: TestClient, key: str, db: Database, project_id: str, kind: str, params: dict[str, Any]
) -> dict[str, Any]:
    body = {"kind": kind, "params": params, "project_id": project_id}
    resp = client.post("/v1/jobs", json=body, headers=auth(key))
    assert resp.status_code == 202, resp.text
    wait_state(db, resp.json()["id"], TERMINAL)
    job: dict[str, Any] = client.get(f"/v1/jobs/{resp.json()['id']}", headers=auth(key)).json()
    return job


def new_project(client: TestClient, key: str, tmp_path: Path) -> str:
    project_id: str = create_project(client, key, make_unity_project(tmp_path / "Game"))["id"]
    return project_id


def stored_text(db: Database, project_id: str, path: str) -> str:
    found = files.read(db, uuid.UUID(project_id), path)
    assert found is not None, path
    return found.content.decode()


def test_apply_preset_writes_each_file_into_the_project_and_a_second_run_makes_versions_2(
    client: TestClient, api_key: str, db: Database, worker: WorkerProcess, tmp_path: Path
) -> None:
    """Every script and the settings file become version 1, by the job; again, version 2."""
    project_id = new_project(client, api_key, tmp_path)
    params = {"preset_id": "top-down-action", "namespace": "Studio.Game"}
    first = run_in(client, api_key, db, project_id, "apply_preset", params)
    assert first["state"] == "succeeded", first["error"]
    result = first["result"]
    assert_result_matches_its_model("apply_preset", result)
    rendered = [*result["files"], result["settings_file"]]
    assert [w["path"] for w in result["written"]] == [f["path"] for f in rendered]
    assert "Assets/Settings/top-down-action.json" in [w["path"] for w in result["written"]]
    assert [w["version"] for w in result["written"]] == [1] * len(rendered)
    for written, file in zip(result["written"], rendered, strict=True):
        assert written["sha256"] == sha256_of(file["content"].encode())
        stored = files.read(db, uuid.UUID(project_id), file["path"])
        assert stored is not None and stored.content.decode() == file["content"]
        assert stored.version.author.job_id == uuid.UUID(first["id"])
        assert "top-down-action" in stored.version.message
    assert "namespace Studio.Game" in stored_text(
        db, project_id, "Assets/Scripts/TopDown/Health.cs"
    )

    second = run_in(client, api_key, db, project_id, "apply_preset", params)
    assert second["state"] == "succeeded", second["error"]
    assert [w["version"] for w in second["result"]["written"]] == [2] * len(rendered)


def test_generate_asset_writes_asset_and_meta_and_regenerating_keeps_the_stored_guid(
    client: TestClient, api_key: str, db: Database, worker: WorkerProcess, tmp_path: Path
) -> None:
    """A .meta already in the project keeps its GUID through every regeneration."""
    project_id = new_project(client, api_key, tmp_path)
    path, meta_path = "Assets/Materials/Lava.mat", "Assets/Materials/Lava.mat.meta"
    imported = meta_for_path(path, IMPORTED_GUID).encode()
    files.write(db, uuid.UUID(project_id), meta_path, imported, ALICE, "imported from Unity")
    params: dict[str, Any] = {"asset_type": "material", "name": "Lava", "path": path}

    first = run_in(client, api_key, db, project_id, "generate_asset", params)
    assert first["state"] == "succeeded", first["error"]
    assert_result_matches_its_model("generate_asset", first["result"])
    assert first["result"]["guid"] == IMPORTED_GUID != stable_guid(path)
    assert [(w["path"], w["version"]) for w in first["result"]["written"]] == [
        (path, 1),
        (meta_path, 2),
    ]
    assert stored_text(db, project_id, path) == first["result"]["files"][0]["content"]
    assert meta_guid(stored_text(db, project_id, meta_path)) == IMPORTED_GUID

    params["color"] = [1.0, 0.3, 0.0, 1.0]
    again = run_in(client, api_key, db, project_id, "generate_asset", params)
    assert again["state"] == "succeeded", again["error"]
    assert [(w["path"], w["version"]) for w in again["result"]["written"]] == [
        (path, 2),
        (meta_path, 3),
    ]
    assert again["result"]["guid"] == IMPORTED_GUID
    assert meta_guid(stored_text(db, project_id, meta_path)) == IMPORTED_GUID
    assert "{r: 1, g: 0.3, b: 0, a: 1}" in stored_text(db, project_id, path)


def test_export_package_packs_the_projects_current_files_a_glob_names(
    client: TestClient, api_key: str, db: Database, worker: WorkerProcess, tmp_path: Path
) -> None:
    """`Assets/Scripts/**/*.cs` packs each script's newest version with its stored .meta, and
    nothing the glob does not name."""
    project_id = new_project(client, api_key, tmp_path)
    pid = uuid.UUID(project_id)
    enemy_meta = meta_for_path("Assets/Scripts/AI/Enemy.cs", IMPORTED_GUID).encode()
    files.write(db, pid, "Assets/Scripts/Player.cs", b"class Player {}\n", ALICE, "v1")
    files.write(db, pid, "Assets/Scripts/Player.cs", b"class Player { int hp; }\n", ALICE, "v2")
    files.write(db, pid, "Assets/Scripts/AI/Enemy.cs", b"class Enemy {}\n", ALICE, "enemy")
    files.write(db, pid, "Assets/Scripts/AI/Enemy.cs.meta", enemy_meta, ALICE, "its meta")
    files.write(db, pid, "Assets/Art/Notes.txt", b"not a script\n", ALICE, "notes")

    job = run_in(
        client, api_key, db, project_id, "export_package", {"paths": ["Assets/Scripts/**/*.cs"]}
    )
    assert job["state"] == "succeeded", job["error"]
    assert_result_matches_its_model("export_package", job["result"])
    assert [(v["path"], v["version"]) for v in job["result"]["versions"]] == [
        ("Assets/Scripts/AI/Enemy.cs", 1),
        ("Assets/Scripts/AI/Enemy.cs.meta", 1),
        ("Assets/Scripts/Player.cs", 2),
    ]
    [artifact] = client.get(f"/v1/jobs/{job['id']}/artifacts", headers=auth(api_key)).json()[
        "items"
    ]
    packed = unpack(client.get(artifact["href"], headers=auth(api_key)).content)
    assert set(packed) == {"Assets/Scripts/AI/Enemy.cs", "Assets/Scripts/Player.cs"}
    assert packed["Assets/Scripts/Player.cs"] == (
        stable_guid("Assets/Scripts/Player.cs"),
        b"class Player { int hp; }\n",
    )
    assert packed["Assets/Scripts/AI/Enemy.cs"] == (IMPORTED_GUID, b"class Enemy {}\n")


def test_export_package_fails_naming_a_path_or_glob_that_matches_nothing(
    client: TestClient, api_key: str, db: Database, worker: WorkerProcess, tmp_path: Path
) -> None:
    """The job fails file_not_found naming the pattern; without a project the API says 422."""
    project_id = new_project(client, api_key, tmp_path)
    files.write(db, uuid.UUID(project_id), "Assets/Scripts/A.cs", b"class A {}\n", ALICE, "a")
    for pattern in ("Assets/Prefabs/**/*.prefab", "Assets/Scripts/B.cs"):
        params = {"paths": ["Assets/Scripts/A.cs", pattern]}
        job = run_in(client, api_key, db, project_id, "export_package", params)
        assert job["state"] == "failed"
        assert job["error"]["code"] == "file_not_found" and pattern in job["error"]["message"]
    body = {"kind": "export_package", "params": {"paths": ["Assets/Scripts/**/*.cs"]}}
    refused = client.post("/v1/jobs", json=body, headers=auth(api_key))
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "params.paths"


def unpack(package: bytes) -> dict[str, tuple[str, bytes]]:
    """A .unitypackage's assets: project path to (GUID, bytes), checking each entry's layout."""
    with tarfile.open(fileobj=io.BytesIO(package), mode="r:gz") as tar:
        names = tar.getnames()
        found: dict[str, tuple[str, bytes]] = {}
        for guid in {name.split("/")[0] for name in names}:
            assert {f"{guid}/asset", f"{guid}/asset.meta", f"{guid}/pathname"} <= set(names)
            path, asset, meta = (
                read_member(tar, f"{guid}/{part}") for part in ("pathname", "asset", "asset.meta")
            )
            assert meta_guid(meta.decode()) == guid
            found[path.decode()] = (guid, asset)
    return found


def read_member(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    assert member is not None
    return member.read()
