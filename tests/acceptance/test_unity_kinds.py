"""apply_preset, generate_asset and export_package through the API and a real worker."""

from __future__ import annotations

import io
import tarfile
from typing import Any

from starlette.testclient import TestClient

from spark.db.executor import Database
from spark.engines.unity.csharp import check_syntax
from tests.support.jobs import TERMINAL, assert_result_matches_its_model, auth, wait_state
from tests.support.workers import WorkerProcess


def run(client: TestClient, key: str, db: Database, kind: str, params: dict[str, Any]) -> Any:
    resp = client.post("/v1/jobs", json={"kind": kind, "params": params}, headers=auth(key))
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    wait_state(db, job_id, TERMINAL)
    return client.get(f"/v1/jobs/{job_id}", headers=auth(key)).json()


def test_apply_preset_writes_scripts_that_parse(
    client: TestClient, api_key: str, db: Database, worker: WorkerProcess
) -> None:
    """The 2D platformer preset comes back as parsing scripts in the namespace, with settings."""
    job = run(
        client,
        api_key,
        db,
        "apply_preset",
        {"preset_id": "2d-platformer", "namespace": "Studio.Game"},
    )
    assert job["state"] == "succeeded", job["error"]
    files = job["result"]["files"]
    assert files and all(f["path"].startswith("Assets/Scripts/") for f in files)
    assert all(check_syntax(f["content"]) == () for f in files)
    assert all("namespace Studio.Game" in f["content"] for f in files)
    assert job["result"]["build_settings"]["target"] == "WebGL"
    assert_result_matches_its_model("apply_preset", job["result"])


def test_presets_are_listed_and_shown(client: TestClient, api_key: str) -> None:
    """GET /v1/presets lists the three templates; an unknown one is 404."""
    listed = client.get("/v1/presets", headers=auth(api_key)).json()["items"]
    assert {p["id"] for p in listed} == {"2d-platformer", "top-down-action", "visual-novel"}
    shown = client.get("/v1/presets/visual-novel", headers=auth(api_key)).json()
    assert all("content" in f for f in shown["files"])
    assert client.get("/v1/presets/space-sim", headers=auth(api_key)).status_code == 404
    assert client.get("/v1/presets").status_code == 401


def test_generate_asset_writes_a_material_and_its_meta(
    client: TestClient, api_key: str, db: Database, worker: WorkerProcess
) -> None:
    """A material job returns Unity YAML and a .meta sharing its GUID."""
    job = run(
        client,
        api_key,
        db,
        "generate_asset",
        {
            "asset_type": "material",
            "name": "Lava",
            "path": "Assets/Materials/Lava.mat",
            "color": [1.0, 0.3, 0.0, 1.0],
        },
    )
    assert job["state"] == "succeeded", job["error"]
    asset, meta = job["result"]["files"]
    assert asset["content"].startswith("%YAML 1.1")
    assert meta["path"] == "Assets/Materials/Lava.mat.meta"
    assert f"guid: {job['result']['guid']}" in meta["content"]
    assert_result_matches_its_model("generate_asset", job["result"])


def test_export_package_is_downloadable_and_private(
    client: TestClient, api_key: str, other_key: str, db: Database, worker: WorkerProcess
) -> None:
    """The .unitypackage artifact is listed, downloads as a gzip tar of guid folders, and is 404 to others."""
    script = "using UnityEngine;\npublic class Coin : MonoBehaviour { }\n"
    job = run(
        client,
        api_key,
        db,
        "export_package",
        {
            "paths": ["Assets/Scripts/Coin.cs"],
            "files": [{"path": "Assets/Scripts/Coin.cs", "content": script}],
        },
    )
    assert job["state"] == "succeeded", job["error"]
    assert_result_matches_its_model("export_package", job["result"])
    listed = client.get(f"/v1/jobs/{job['id']}/artifacts", headers=auth(api_key)).json()["items"]
    [artifact] = listed
    assert artifact["name"].endswith(".unitypackage")
    data = client.get(artifact["href"], headers=auth(api_key))
    assert data.status_code == 200 and len(data.content) == artifact["size"]
    assert data.headers["content-disposition"].startswith("attachment; filename=")
    assert data.headers["x-content-type-options"] == "nosniff"
    with tarfile.open(fileobj=io.BytesIO(data.content), mode="r:gz") as tar:
        names = sorted(tar.getnames())
        guid = names[0].split("/")[0]
        assert names == [f"{guid}/asset", f"{guid}/asset.meta", f"{guid}/pathname"]
        pathname = tar.extractfile(f"{guid}/pathname")
        assert pathname is not None and pathname.read() == b"Assets/Scripts/Coin.cs"
    assert client.get(artifact["href"], headers=auth(other_key)).status_code == 404
    assert client.get(f"/v1/jobs/{job['id']}/artifacts", headers=auth(other_key)).status_code == 404
    missing = client.get(f"/v1/jobs/{job['id']}/artifacts/nope.bin", headers=auth(api_key))
    assert missing.status_code == 404
