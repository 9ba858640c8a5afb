"""/v1/projects/{id}/secrets: write-only project secrets, sealed at rest, owner only."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import text
from starlette.testclient import TestClient

from spark.config import Settings
from spark.contracts.secrets import MAX_KEYSTORE_BYTES, AndroidSigningIn
from spark.db import audit as audit_queries
from spark.db.executor import Database
from spark.projects import secrets
from spark.security.sealing import Keyring, new_key
from spark.web.app import create_app
from tests.support.jobs import auth
from tests.support.services import free_port
from tests.support.signing import material
from tests.support.workers import ApiProcess, spark_env

KEY = new_key()
URL = "/v1/projects/{}/secrets"


@pytest.fixture(scope="module")
def settings(settings: Settings) -> Settings:
    """The suite's settings with a secrets key, as every deployment that stores secrets has."""
    return settings.model_copy(update={"secrets_key": SecretStr(KEY)})


def client_with(settings: Settings, key: str | None) -> TestClient:
    """An API client whose SPARK_SECRETS_KEY is key (None: unset)."""
    update = {"secrets_key": SecretStr(key) if key is not None else None}
    return TestClient(create_app(settings.model_copy(update=update)), raise_server_exceptions=False)


def project_of(client: TestClient, key: str) -> str:
    body = {"name": "Signed Game", "source_dir": "/srv/unity/signed-game"}
    resp = client.post("/v1/projects", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    project_id: str = resp.json()["id"]
    return project_id


@pytest.fixture
def project_id(client: TestClient, api_key: str) -> Iterator[str]:
    yield project_of(client, api_key)


def sealed_rows(db: Database) -> list[tuple[str, str, bytes]]:
    rows = db.all(text("SELECT name, key_id, sealed FROM project_secrets ORDER BY name"))
    return [(row.name, row.key_id, bytes(row.sealed)) for row in rows]


def test_a_secret_is_written_listed_by_name_and_time_only_replaced_and_deleted(
    client: TestClient, api_key: str, project_id: str
) -> None:
    signing = material()
    put = client.put(
        f"{URL.format(project_id)}/android_signing", json=signing.body(), headers=auth(api_key)
    )
    assert put.status_code == 200, put.text
    assert set(put.json()) == {"name", "updated_at"} and put.json()["name"] == "android_signing"
    listed = client.get(URL.format(project_id), headers=auth(api_key))
    assert listed.json() == {"secrets": [put.json()]}
    again = client.put(
        f"{URL.format(project_id)}/android_signing",
        json=material().body(),
        headers=auth(api_key),
    )
    assert again.status_code == 200 and again.json()["updated_at"] > put.json()["updated_at"]
    for answer in (put, listed, again):
        assert all(needle not in answer.text for needle in signing.needles().values())
    gone = client.delete(f"{URL.format(project_id)}/android_signing", headers=auth(api_key))
    assert gone.status_code == 204
    assert client.get(URL.format(project_id), headers=auth(api_key)).json() == {"secrets": []}
    missing = client.delete(f"{URL.format(project_id)}/android_signing", headers=auth(api_key))
    assert missing.status_code == 404


def test_there_is_no_route_that_reads_a_secret_back(
    client: TestClient, api_key: str, project_id: str
) -> None:
    secret = f"{URL.format(project_id)}/android_signing"
    assert client.put(secret, json=material().body(), headers=auth(api_key)).status_code == 200
    assert client.get(secret, headers=auth(api_key)).status_code in (404, 405)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"keystore_base64": "not base64 at all!"}, "keystore_base64"),
        ({"keystore_base64": ""}, "keystore_base64"),
        ({"keystore_password": ""}, "keystore_password"),
        ({"key_password": ""}, "key_password"),
        ({"key_alias": ""}, "key_alias"),
        ({"key_alias": 7}, "key_alias"),
        ({"keystore_pass": "typo"}, "keystore_pass"),
    ],
)
def test_a_bad_signing_body_is_a_422_naming_the_field(
    client: TestClient, api_key: str, project_id: str, change: dict[str, object], field: str
) -> None:
    signing = material()
    body = signing.body(**change)
    resp = client.put(f"{URL.format(project_id)}/android_signing", json=body, headers=auth(api_key))
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"]["field"] == field
    assert all(needle not in resp.text for needle in signing.needles().values())


def test_a_keystore_over_one_mebibyte_is_refused() -> None:
    big = base64.b64encode(b"\0" * (MAX_KEYSTORE_BYTES + 1)).decode()
    with pytest.raises(ValidationError, match="at most 1048576 bytes"):
        AndroidSigningIn.model_validate(material().body(keystore_base64=big))


def test_a_missing_field_and_an_unknown_secret_name_are_refused(
    client: TestClient, api_key: str, project_id: str
) -> None:
    body = material().body()
    del body["key_password"]
    resp = client.put(f"{URL.format(project_id)}/android_signing", json=body, headers=auth(api_key))
    assert resp.status_code == 422 and resp.json()["error"]["details"]["field"] == "key_password"
    unknown = client.put(
        f"{URL.format(project_id)}/ios_signing", json=material().body(), headers=auth(api_key)
    )
    assert unknown.status_code == 404 and "android_signing" in unknown.json()["error"]["message"]


def test_another_users_project_is_unknown_to_every_secrets_route(
    client: TestClient, api_key: str, other_key: str, project_id: str, db: Database
) -> None:
    secret = f"{URL.format(project_id)}/android_signing"
    assert client.put(secret, json=material().body(), headers=auth(other_key)).status_code == 404
    assert client.get(URL.format(project_id), headers=auth(other_key)).status_code == 404
    assert client.delete(secret, headers=auth(other_key)).status_code == 404
    assert sealed_rows(db) == []


def test_a_read_only_key_may_list_but_not_write(
    client: TestClient, read_only_key: str, project_id: str
) -> None:
    secret = f"{URL.format(project_id)}/android_signing"
    assert (
        client.put(secret, json=material().body(), headers=auth(read_only_key)).status_code == 403
    )
    assert client.get(URL.format(project_id), headers=auth(read_only_key)).status_code == 200


def test_sealed_bytes_in_the_table_are_not_the_plaintext_and_the_audit_holds_no_value(
    client: TestClient, api_key: str, project_id: str, db: Database
) -> None:
    signing = material()
    secret = f"{URL.format(project_id)}/android_signing"
    assert client.put(secret, json=signing.body(), headers=auth(api_key)).status_code == 200
    [(name, key_id, sealed)] = sealed_rows(db)
    assert name == "android_signing" and len(key_id) == 16
    needles = [signing.keystore, signing.keystore[100:132]]
    needles += [needle.encode() for needle in signing.needles().values()]
    assert not [needle for needle in needles if needle in sealed]
    [entry] = [e for e in audit_queries.entries(db) if e.action == "secret.set"]
    assert entry.actor == "alice" and entry.details == {"name": "android_signing"}
    assert entry.target == f"project:{project_id}"


def test_a_rotated_key_set_still_opens_old_secrets_and_seals_new_ones_with_the_new_key(
    settings: Settings, api_key: str, project_id: str, db: Database
) -> None:
    signing = material()
    secret = f"{URL.format(project_id)}/android_signing"
    new = new_key()
    with client_with(settings, f"{new},{KEY}") as rotated:
        listed = rotated.get(URL.format(project_id), headers=auth(api_key))
        assert listed.status_code == 200
        with client_with(settings, KEY) as old:
            assert old.put(secret, json=signing.body(), headers=auth(api_key)).status_code == 200
        [(_, old_id, _)] = sealed_rows(db)
        both = Keyring.parse(SecretStr(f"{new},{KEY}"))
        opened = secrets.open_android_signing(db, both, uuid.UUID(project_id))
        assert opened is not None and opened.keystore == signing.keystore
        assert opened.keystore_password == signing.keystore_password
        assert rotated.put(secret, json=signing.body(), headers=auth(api_key)).status_code == 200
        [(_, new_id, _)] = sealed_rows(db)
        assert new_id != old_id


def test_without_a_secrets_key_a_secret_cannot_be_stored(
    settings: Settings, api_key: str, project_id: str, db: Database
) -> None:
    with client_with(settings, None) as keyless:
        resp = keyless.put(
            f"{URL.format(project_id)}/android_signing",
            json=material().body(),
            headers=auth(api_key),
        )
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "secrets_key_missing"
    assert "SPARK_SECRETS_KEY" in resp.json()["error"]["message"]
    assert sealed_rows(db) == []


def test_the_cli_stores_lists_and_deletes_a_keystore_with_passwords_kept_off_its_command_line(
    settings: Settings, client: TestClient, api_key: str, project_id: str, tmp_path: Path
) -> None:
    signing = material(alias="upload")
    keystore = tmp_path / "release.keystore"
    keystore.write_bytes(signing.keystore)
    api = ApiProcess(settings, tmp_path, free_port())
    api.start()
    env = spark_env(
        settings,
        SPARK_API_URL=api.url,
        SPARK_API_KEY=api_key,
        ANDROID_KEYSTORE_PASSWORD=signing.keystore_password,
        ANDROID_KEY_PASSWORD=signing.key_password,
    )

    def spark_projects(*args: str) -> Any:
        command = [sys.executable, "-m", "spark.cli", "projects", *args, "--json"]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert all(needle not in done.stdout for needle in signing.needles().values())
        return json.loads(done.stdout)

    try:
        stored = spark_projects(
            "secret-set",
            project_id,
            "android_signing",
            "--keystore",
            str(keystore),
            "--alias",
            "upload",
        )
        assert stored["name"] == "android_signing"
        listed = spark_projects("secrets", project_id)
        assert [item["name"] for item in listed["secrets"]] == ["android_signing"]
        assert spark_projects("secret-delete", project_id, "android_signing") == {
            "deleted": "android_signing"
        }
    finally:
        api.stop()
    assert client.get(URL.format(project_id), headers=auth(api_key)).json() == {"secrets": []}
