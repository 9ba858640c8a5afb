"""Every target's player, built on a real builder with the Unity stand-in: each artifact has
the shape Unity gives that target; Android is signed with the project's keystore, which shows
nowhere else; a target whose module the editor lacks fails target_not_installed."""

from __future__ import annotations

import io
import socket
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from starlette.testclient import TestClient

from fakes.unity import make_unity_project
from fakes.unity_players import ALL_TARGETS
from spark.config import Settings
from spark.db import secrets as secret_queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.secrets import SealedSecret
from spark.engines.unity.signing import FOLDER
from spark.security.sealing import Keyring, new_key
from tests.support.builds import builds_only_worker
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.signing import Material, material
from tests.support.workers import WorkerProcess

KEY = new_key()
NAME = "Space_Game"

#: each target's artifact name and entries it must hold (the stand-in's layout, Unity's shape)
SHAPES: dict[str, tuple[str, set[str]]] = {
    "StandaloneOSX": (
        f"{NAME}-StandaloneOSX.zip",
        {f"{NAME}.app/Contents/MacOS/{NAME}", f"{NAME}.app/Contents/Info.plist"},
    ),
    "StandaloneWindows": (
        f"{NAME}-StandaloneWindows.zip",
        {f"{NAME}.exe", f"{NAME}_Data/globalgamemanagers", "UnityPlayer.dll"},
    ),
    "StandaloneWindows64": (
        f"{NAME}-StandaloneWindows64.zip",
        {f"{NAME}.exe", f"{NAME}_Data/globalgamemanagers", "UnityPlayer.dll"},
    ),
    "StandaloneLinux64": (
        f"{NAME}-StandaloneLinux64.zip",
        {f"{NAME}.x86_64", f"{NAME}_Data/globalgamemanagers", "UnityPlayer.so"},
    ),
    "iOS": (f"{NAME}-iOS.zip", {f"{NAME}/Unity-iPhone.xcodeproj/project.pbxproj"}),
    "tvOS": (f"{NAME}-tvOS.zip", {f"{NAME}/Unity-iPhone.xcodeproj/project.pbxproj"}),
    "VisionOS": (f"{NAME}-VisionOS.zip", {f"{NAME}/Unity-VisionOS.xcodeproj/project.pbxproj"}),
    "Android": (f"{NAME}.apk", {"AndroidManifest.xml", "classes.dex", "META-INF/ANDROIDD.SF"}),
    "WebGL": (
        f"{NAME}-WebGL.zip",
        {f"{NAME}/index.html", f"{NAME}/Build/{NAME}.wasm.gz", f"{NAME}/TemplateData/style.css"},
    ),
    "WSAPlayer": (f"{NAME}-WSAPlayer.zip", {f"{NAME}/{NAME}.sln"}),
    "PS4": (f"{NAME}-PS4.zip", {f"{NAME}/eboot.bin", f"{NAME}/sce_sys/param.sfo"}),
    "XboxOne": (f"{NAME}-XboxOne.zip", {f"{NAME}/{NAME}.exe", f"{NAME}/AppxManifest.xml"}),
    "Switch": (f"{NAME}-Switch.zip", {f"{NAME}.nsp"}),
}
#: what a player must keep executable once unzipped
EXECUTABLES = {
    "StandaloneOSX": f"{NAME}.app/Contents/MacOS/{NAME}",
    "StandaloneLinux64": f"{NAME}.x86_64",
}


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """The suite's settings with a secrets key, the API's and the builder's."""
    return settings.model_copy(update={"secrets_key": SecretStr(KEY)})


@pytest.fixture(scope="module")
def builder(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """One builder for every target, with the secrets key, shared by the module's builds."""
    proc = builds_only_worker(
        settings,
        tmp_path_factory.mktemp("targets-builder"),
        SPARK_BUILD_TARGETS=",".join(ALL_TARGETS),
    )
    proc.start()
    yield proc
    proc.stop()


class Api:
    """The test's API calls, every answer kept so none can be missed by the leak search."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client, self.key = client, key
        self.answers: list[str] = []

    def call(self, method: str, url: str, **kw: Any) -> Any:
        resp = self.client.request(method, url, headers=auth(self.key), **kw)
        self.answers.append(resp.text)
        return resp

    def project(self, source: Path) -> str:
        body = {"name": "Space Game", "source_dir": str(source)}
        resp = self.call("POST", "/v1/projects", json=body)
        assert resp.status_code == 201, resp.text
        project_id: str = resp.json()["id"]
        return project_id

    def build(self, db: Database, project_id: str, target: str, **params: Any) -> dict[str, Any]:
        """Submit a build, wait for its end; the job as the API shows it."""
        body = {"target": target, **params}
        submitted = self.call(
            "POST",
            "/v1/jobs",
            json={"kind": "unity_build", "project_id": project_id, "params": body},
        )
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        wait_state(db, job_id, TERMINAL, timeout=60)
        job: dict[str, Any] = self.call("GET", f"/v1/jobs/{job_id}").json()
        return job

    def artifact(self, job: dict[str, Any]) -> tuple[str, bytes]:
        [item] = self.call("GET", f"/v1/jobs/{job['id']}/artifacts").json()["items"]
        return item["name"], self.call("GET", item["href"]).content


@pytest.fixture
def api(client: TestClient, api_key: str) -> Api:
    return Api(client, api_key)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return make_unity_project(tmp_path / "Game", delay_s=0)


@pytest.mark.parametrize("target", sorted(SHAPES))
def test_each_targets_player_is_stored_in_the_shape_unity_gives_it(
    builder: WorkerProcess, api: Api, db: Database, source: Path, target: str
) -> None:
    job = api.build(db, api.project(source), target)
    assert job["state"] == "succeeded", job["error"]
    name, content = api.artifact(job)
    expected_name, entries = SHAPES[target]
    assert name == expected_name
    zipped = zipfile.ZipFile(io.BytesIO(content))
    assert entries <= set(zipped.namelist()), zipped.namelist()
    if target in EXECUTABLES:
        assert zipped.getinfo(EXECUTABLES[target]).external_attr >> 16 & 0o111
    if target == "Android":
        assert job["result"]["signed"] == "debug"
        assert "debug keystore" in zipped.read("META-INF/ANDROIDD.SF").decode()


@pytest.mark.parametrize(("compression", "extension"), [("brotli", ".br"), ("none", "")])
def test_a_webgl_players_build_files_carry_its_compression(
    builder: WorkerProcess, api: Api, db: Database, source: Path, compression: str, extension: str
) -> None:
    options = {"compression": compression}
    job = api.build(db, api.project(source), "WebGL", options=options)
    assert job["state"] == "succeeded", job["error"]
    names = set(zipfile.ZipFile(io.BytesIO(api.artifact(job)[1])).namelist())
    build = {name.rsplit("/", 1)[1] for name in names if name.startswith(f"{NAME}/Build/")}
    assert build == {
        f"{NAME}.loader.js",
        *(f"{NAME}.{part}{extension}" for part in ("framework.js", "wasm", "data")),
    }


def test_android_builds_are_signed_with_the_projects_keystore_which_shows_nowhere_else(
    builder: WorkerProcess, api: Api, db: Database, source: Path
) -> None:
    signing = material(alias="release")
    project_id = api.project(source)
    put = api.call("PUT", f"/v1/projects/{project_id}/secrets/android_signing", json=signing.body())
    assert put.status_code == 200, put.text
    jobs = [
        api.build(db, project_id, "Android", options={"android_format": form})
        for form in ("apk", "aab")
    ]
    for job, (name, manifest) in zip(
        jobs,
        [
            (f"{NAME}.apk", "AndroidManifest.xml"),
            (f"{NAME}.aab", "base/manifest/AndroidManifest.xml"),
        ],
        strict=True,
    ):
        assert job["state"] == "succeeded", job["error"]
        assert job["result"]["signed"] == "project"
        stored_name, content = api.artifact(job)
        package = zipfile.ZipFile(io.BytesIO(content))
        assert stored_name == name and manifest in package.namelist()
        signature = package.read("META-INF/RELEASE.SF").decode()
        assert f"keystore sha256={signing.sha256}" in signature and "Alias: release" in signature
        assert "META-INF/RELEASE.RSA" in package.namelist()
        assert_nothing_holds(signing, content)
        log = api.call("GET", f"/v1/jobs/{job['id']}/log").text
        assert "-sparkAndroidSigning" in log and "signing with the keystore laid out" in log
        api.call("GET", f"/v1/jobs/{job['id']}/events")
    api.call("GET", f"/v1/projects/{project_id}/secrets")
    assert_no_leak(signing, api, db, builder)


def assert_no_leak(signing: Material, api: Api, db: Database, builder: WorkerProcess) -> None:
    """The keystore and its passwords are in no table, answer, log or workspace file."""
    for text_found in (*database_texts(db), *api.answers, builder.log()):
        assert_nothing_holds(signing, text_found)
    workspaces = builder.workdir / "workspaces"
    assert not list(workspaces.rglob(FOLDER)), "the signing folder outlived the build"
    for path in (p for p in builder.workdir.rglob("*") if p.is_file()):
        assert signing.keystore[:64] not in path.read_bytes(), path


def assert_nothing_holds(signing: Material, found: str | bytes) -> None:
    for what, needle in signing.needles().items():
        held = needle.encode() in found if isinstance(found, bytes) else needle in found
        assert not held, f"the {what} leaked"


def database_texts(db: Database) -> list[str]:
    """Every row of every table in SPARK's schema as JSON text (bytea as hex)."""
    tables = db.all(
        text(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    )
    found: list[str] = []
    for row in tables:
        rows = db.all(text(f'SELECT to_jsonb(t)::text AS doc FROM "{row.table_name}" t'))
        found += [r.doc for r in rows]
    assert any(row.table_name == "project_secrets" for row in tables)
    return found


def test_a_target_whose_module_the_editor_lacks_fails_target_not_installed(
    builder: WorkerProcess, api: Api, db: Database, source: Path
) -> None:
    (source / ".fake-unity-modules").write_text("StandaloneLinux64,WebGL")
    job = api.build(db, api.project(source), "Android")
    assert job["state"] == "failed"
    error = job["error"]
    host = socket.gethostname()
    assert error["code"] == "target_not_installed", error
    assert error["details"] == {"target": "Android", "host": host}
    assert "Android" in error["message"] and host in error["message"]
    log = api.call("GET", f"/v1/jobs/{job['id']}/log").text
    assert "Error building player because build target was unsupported" in log


def test_a_secret_the_builders_keys_cannot_open_fails_the_build_secrets_unreadable(
    builder: WorkerProcess, api: Api, db: Database, source: Path
) -> None:
    project_id = api.project(source)
    other = Keyring.parse(SecretStr(new_key()))
    assert other is not None
    sealed = other.seal(b"{}", uuid.UUID(project_id), "android_signing")
    row = SealedSecret(
        uuid.UUID(project_id), "android_signing", sealed.key_id, sealed.data, utcnow()
    )
    secret_queries.put_secret(db, row)
    started = time.monotonic()
    job = api.build(db, project_id, "Android")
    assert job["state"] == "failed" and job["error"]["code"] == "secrets_unreadable", job
    assert sealed.key_id in job["error"]["message"] and time.monotonic() - started < 30
