"""GET /v1/audit and `spark audit`: the audit log readable by admins, filtered and paged."""

from __future__ import annotations

import json
import uuid

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from spark.cli import app as cli_app
from spark.db.executor import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Permission, Tier
from spark.security.apikeys import create_key, revoke_key
from tests.support.jobs import auth
from tests.support.workers import ApiProcess


@pytest.fixture
def admin_key(db: Database) -> str:
    """A key that holds spark:admin."""
    return create_key(db, f"ops-{uuid.uuid4().hex[:6]}", Tier.ENTERPRISE, {Permission.ADMIN}).token


@pytest.fixture
def audited_user(db: Database, client: TestClient) -> str:
    """A user with a created key, a revoked key and one refused request on record."""
    user = f"audited-{uuid.uuid4().hex[:8]}"
    create_key(db, user, Tier.FREE, DEFAULT_PERMISSIONS)
    revoke_key(db, create_key(db, user, Tier.FREE, DEFAULT_PERMISSIONS).record.key_id)
    reader = create_key(db, user, Tier.FREE, {Permission.READ}).token
    body = {"kind": "generate_script", "params": {"prompt": "a coin"}}
    assert client.post("/v1/jobs", json=body, headers=auth(reader)).status_code == 403
    return user


def test_an_admin_reads_a_users_audit_entries_newest_first(
    client: TestClient, admin_key: str, audited_user: str
) -> None:
    """three key.created, key.revoked and permission.denied, newest first, without secrets."""
    page = client.get("/v1/audit", params={"user": audited_user}, headers=auth(admin_key))
    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert [e["action"] for e in items] == [
        "permission.denied",
        "key.created",
        "key.revoked",
        "key.created",
        "key.created",
    ]
    assert {e["user"] for e in items} == {audited_user}
    assert [e["at"] for e in items] == sorted((e["at"] for e in items), reverse=True)
    assert items[0]["target"] == "POST /v1/jobs" and items[0]["details"]["code"] == "forbidden"
    assert "spk_" not in page.text and page.json()["next_cursor"] is None


def test_audit_filters_by_action_and_since(
    client: TestClient, admin_key: str, audited_user: str
) -> None:
    """action narrows to one kind of entry; since leaves out what came before it."""
    headers = auth(admin_key)
    denied = client.get(
        "/v1/audit", params={"user": audited_user, "action": "key.revoked"}, headers=headers
    ).json()["items"]
    assert [e["action"] for e in denied] == ["key.revoked"]
    later = client.get(
        "/v1/audit", params={"user": audited_user, "since": denied[0]["at"]}, headers=headers
    ).json()["items"]
    assert [e["action"] for e in later] == ["permission.denied", "key.created", "key.revoked"]
    future = client.get(
        "/v1/audit", params={"user": audited_user, "since": "2999-01-01"}, headers=headers
    )
    assert future.status_code == 200 and future.json()["items"] == []


def test_audit_pages_cover_every_entry_once(
    client: TestClient, admin_key: str, audited_user: str
) -> None:
    """Pages of two, following next_cursor, give the five entries once each, in order."""
    whole = client.get("/v1/audit", params={"user": audited_user}, headers=auth(admin_key))
    seen: list[str] = []
    cursor: str | None = ""
    while cursor is not None:
        params = {"user": audited_user, "limit": "2", "cursor": cursor}
        page = client.get("/v1/audit", params=params, headers=auth(admin_key)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [e["id"] for e in whole.json()["items"]] and len(seen) == 5


def test_only_admins_read_the_audit_log(client: TestClient, api_key: str, db: Database) -> None:
    """A key without spark:admin is refused 403, and that refusal is itself on record."""
    refused = client.get("/v1/audit", headers=auth(api_key))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert client.get("/v1/audit").status_code == 401
    admin = create_key(db, "root-reader", Tier.ENTERPRISE, {Permission.ADMIN}).token
    mine = client.get(
        "/v1/audit", params={"user": "alice", "action": "permission.denied"}, headers=auth(admin)
    ).json()["items"]
    assert any(e["target"] == "GET /v1/audit" for e in mine)


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"since": "last tuesday"}, 422, "since"),
        ({"cursor": "not-a-cursor"}, 422, "cursor"),
        ({"limit": "0"}, 422, "limit"),
        ({"limit": "501"}, 422, "limit"),
        ({"user": "u" * 129}, 422, "user"),
        ({"actor": "alice"}, 400, "actor"),
    ],
)
def test_bad_audit_queries_are_refused_naming_the_field(
    client: TestClient, admin_key: str, params: dict[str, str], status: int, field: str
) -> None:
    """Each bad filter is a clear 4xx that names it."""
    answer = client.get("/v1/audit", params=params, headers=auth(admin_key))
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["details"]["field"] == field


def test_spark_audit_prints_the_log_as_a_table_and_as_json(
    api_server: ApiProcess, admin_key: str, audited_user: str, api_key: str
) -> None:
    """`spark audit --user U --action A --json` and the table; a non-admin key exits 2."""
    env = {"SPARK_API_URL": api_server.url, "SPARK_API_KEY": admin_key}
    runner = CliRunner()
    as_json = runner.invoke(
        cli_app, ["audit", "--user", audited_user, "--action", "key.created", "--json"], env=env
    )
    assert as_json.exit_code == 0, as_json.output
    assert [e["action"] for e in json.loads(as_json.stdout)["items"]] == ["key.created"] * 3
    table = runner.invoke(cli_app, ["audit", "--user", audited_user, "--limit", "2"], env=env)
    assert table.exit_code == 0, table.output
    assert "permission.denied" in table.stdout and "more: --cursor" in table.stderr
    refused = runner.invoke(cli_app, ["audit", "--json"], env={**env, "SPARK_API_KEY": api_key})
    assert refused.exit_code == 2
    assert json.loads(refused.stdout)["error"]["status"] == 403
