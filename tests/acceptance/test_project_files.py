"""/v1/projects/{id}/files and …/history: list, read as JSON or bytes, history, rollback,
export and import, each owner-scoped; and `spark files` on top of them."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import func, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from spark.cli import app as cli_app
from spark.db.executor import Database
from spark.db.models import FileBlobRow, FileVersionRow
from spark.domain.files import Author, sha256_of
from spark.projects import files
from spark.web.routes import files as file_routes
from tests.support.jobs import auth
from tests.support.workers import ApiProcess

JOB = uuid.uuid4()
BOT = Author("alice", "key-bot", JOB)
PLAYER = "Assets/Scripts/Player.cs"
#: bytes that are not UTF-8, so JSON carries them as base64
ICON = b"\x89PNG\r\n\x1a\n\x00\xff\xfe"


def new_project(client: TestClient, key: str, name: str = "shooter") -> str:
    body = {"name": name, "source_dir": "/srv/unity/shooter"}
    resp = client.post("/v1/projects", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def put(db: Database, project: str, path: str, *contents: bytes) -> None:
    """Write each of contents as the next version of path, by a job of alice's."""
    for i, content in enumerate(contents):
        files.write(db, uuid.UUID(project), path, content, BOT, f"edit {i + 1}")


def get(client: TestClient, key: str, url: str, **kw: Any) -> Any:
    resp = client.get(url, headers={**auth(key), **kw.pop("headers", {})}, **kw)
    assert resp.status_code == 200, resp.text
    return resp.json()


def stored_counts(db: Database) -> tuple[int, int]:
    """How many versions and blobs the store holds, across every project."""
    with db.transaction() as tx:
        versions = tx.scalar(select(func.count()).select_from(FileVersionRow))
        blobs = tx.scalar(select(func.count()).select_from(FileBlobRow))
    return int(versions or 0), int(blobs or 0)


@pytest.fixture
def project(client: TestClient, api_key: str, db: Database) -> str:
    """alice's project with Player.cs at three versions, two more scripts and a binary file."""
    pid = new_project(client, api_key)
    put(db, pid, PLAYER, b"class Player {}\n", b"class Player { int hp; }\n", b"class Player {}\n")
    put(db, pid, "Assets/Scripts/Enemy.cs", b"class Enemy {}\n")
    put(db, pid, "Assets/Scripts/AI/Brain.cs", "// café ✓\r\nclass Brain {}\n".encode())
    put(db, pid, "Assets/Art/icon.png", ICON)
    return pid


def test_files_are_listed_in_path_order_filtered_by_prefix_and_paged_by_cursor(
    client: TestClient, api_key: str, project: str
) -> None:
    """Each file once, at its newest version; pages join up with nothing missed or repeated."""
    url = f"/v1/projects/{project}/files"
    everything = get(client, api_key, url)
    assert [f["path"] for f in everything["items"]] == [
        "Assets/Art/icon.png",
        "Assets/Scripts/AI/Brain.cs",
        "Assets/Scripts/Enemy.cs",
        PLAYER,
    ]
    assert everything["next_cursor"] is None
    player = everything["items"][-1]
    assert player["version"] == 3 and player["size"] == len(b"class Player {}\n")
    assert player["sha256"] == sha256_of(b"class Player {}\n")
    seen, cursor = [], None
    while True:
        params = {"prefix": "Assets/Scripts/", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = get(client, api_key, url, params=params)
        assert len(page["items"]) <= 2
        seen += [f["path"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Assets/Scripts/AI/Brain.cs", "Assets/Scripts/Enemy.cs", PLAYER]


def test_a_file_reads_as_json_with_its_version_author_job_and_text_content(
    client: TestClient, api_key: str, project: str
) -> None:
    """CONTRACT §4's version object plus `content`; the author is {user, subject}."""
    body = get(client, api_key, f"/v1/projects/{project}/files/{PLAYER}")
    assert body["path"] == PLAYER and body["version"] == 3
    assert body["content"] == "class Player {}\n" and body["content_base64"] is None
    assert body["sha256"] == sha256_of(b"class Player {}\n") and body["size"] == 16
    assert body["author"] == {"user": "alice", "subject": "key-bot"}
    assert body["job_id"] == str(JOB) and body["message"] == "edit 3"
    assert body["created_at"]
    crlf = get(client, api_key, f"/v1/projects/{project}/files/Assets/Scripts/AI/Brain.cs")
    assert crlf["content"] == "// café ✓\r\nclass Brain {}\n"


def test_bytes_that_are_not_utf8_text_come_as_base64_with_null_content(
    client: TestClient, api_key: str, project: str
) -> None:
    body = get(client, api_key, f"/v1/projects/{project}/files/Assets/Art/icon.png")
    assert body["content"] is None
    assert base64.b64decode(body["content_base64"]) == ICON


def test_a_url_encoded_path_reads_the_same_file(
    client: TestClient, api_key: str, project: str
) -> None:
    encoded = PLAYER.replace("/", "%2F")
    assert get(client, api_key, f"/v1/projects/{project}/files/{encoded}")["path"] == PLAYER


def test_raw_bytes_come_with_etag_and_version_and_revalidate_with_304(
    client: TestClient, api_key: str, project: str
) -> None:
    """Accept: application/octet-stream gives the exact bytes; If-None-Match with that
    ETag is a 304 until the file changes."""
    url = f"/v1/projects/{project}/files/Assets/Art/icon.png"
    raw = {**auth(api_key), "Accept": "application/octet-stream"}
    resp = client.get(url, headers=raw)
    assert resp.status_code == 200
    assert resp.content == ICON
    assert resp.headers["content-type"] == "application/octet-stream"
    assert resp.headers["content-disposition"] == 'attachment; filename="icon.png"'
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["etag"] == f'"{sha256_of(ICON)}"'
    assert resp.headers["x-file-version"] == "1"
    again = client.get(url, headers={**raw, "If-None-Match": resp.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    stale = client.get(url, headers={**raw, "If-None-Match": '"' + "0" * 64 + '"'})
    assert stale.status_code == 200 and stale.content == ICON


def test_version_query_reads_an_older_version_and_an_unknown_one_is_404(
    client: TestClient, api_key: str, project: str
) -> None:
    url = f"/v1/projects/{project}/files/{PLAYER}"
    older = get(client, api_key, url, params={"version": 2})
    assert older["version"] == 2 and older["content"] == "class Player { int hp; }\n"
    raw = client.get(
        url, params={"version": 2}, headers={**auth(api_key), "Accept": "application/octet-stream"}
    )
    assert raw.content == b"class Player { int hp; }\n" and raw.headers["x-file-version"] == "2"
    assert client.get(url, params={"version": 9}, headers=auth(api_key)).status_code == 404
    assert get(client, api_key, url, params={"version": ""})["version"] == 3
    zero = client.get(url, params={"version": 0}, headers=auth(api_key))
    assert zero.status_code == 422 and zero.json()["error"]["details"]["field"] == "version"
    missing = f"/v1/projects/{project}/files/Assets/Nope.cs"
    assert client.get(missing, headers=auth(api_key)).status_code == 404


def test_a_path_outside_the_guardrails_is_a_422_naming_path(
    client: TestClient, api_key: str, project: str
) -> None:
    for bad in ("Assets/../x.cs", "Library/ArtifactDB", "Assets\\x.cs"):
        resp = client.get(f"/v1/projects/{project}/files/{bad}", headers=auth(api_key))
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.json()["error"]["details"] == {"field": "path"}


def test_history_lists_versions_newest_first_paged_by_cursor(
    client: TestClient, api_key: str, project: str
) -> None:
    url = f"/v1/projects/{project}/files/{PLAYER}/history"
    whole = get(client, api_key, url)
    assert [v["version"] for v in whole["items"]] == [3, 2, 1]
    assert [v["message"] for v in whole["items"]] == ["edit 3", "edit 2", "edit 1"]
    assert "content" not in whole["items"][0]
    first = get(client, api_key, url, params={"limit": 2})
    assert [v["version"] for v in first["items"]] == [3, 2]
    rest = get(client, api_key, url, params={"limit": 2, "cursor": first["next_cursor"]})
    assert [v["version"] for v in rest["items"]] == [1] and rest["next_cursor"] is None
    missing = f"/v1/projects/{project}/files/Assets/Nope.cs/history"
    assert client.get(missing, headers=auth(api_key)).status_code == 404


def test_rollback_writes_the_old_content_as_a_new_version_by_the_caller(
    client: TestClient, api_key: str, project: str
) -> None:
    """201 with version 4, whose bytes are version 2's; the caller is its author, no job."""
    url = f"/v1/projects/{project}/files/{PLAYER}"
    resp = client.post(f"{url}/rollback", json={"to_version": 2}, headers=auth(api_key))
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["version"] == 4 and created["job_id"] is None
    assert created["author"]["user"] == "alice"
    assert created["author"]["subject"] == api_key.split("_")[1]
    assert created["sha256"] == sha256_of(b"class Player { int hp; }\n")
    assert resp.headers["location"].endswith(f"/files/{PLAYER}?version=4")
    newest = get(client, api_key, url)
    assert newest["version"] == 4 and newest["content"] == "class Player { int hp; }\n"
    gone = client.post(f"{url}/rollback", json={"to_version": 99}, headers=auth(api_key))
    assert gone.status_code == 404
    invalid = client.post(f"{url}/rollback", json={"to_version": 0}, headers=auth(api_key))
    assert invalid.status_code == 422
    assert invalid.json()["error"]["details"]["field"] == "to_version"


def test_rollback_and_import_need_a_write_permission(
    client: TestClient, read_only_key: str, project: str
) -> None:
    url = f"/v1/projects/{project}"
    rollback = client.post(
        f"{url}/files/{PLAYER}/rollback", json={"to_version": 1}, headers=auth(read_only_key)
    )
    assert rollback.status_code == 403
    empty = {"format": "spark.file-history/1", "files": []}
    imported = client.post(f"{url}/history/import", json=empty, headers=auth(read_only_key))
    assert imported.status_code == 403
    assert get(client, read_only_key, f"{url}/files/{PLAYER}")["version"] == 3


def export(client: TestClient, key: str, project: str) -> dict[str, Any]:
    resp = client.get(f"/v1/projects/{project}/history/export", headers=auth(key))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = resp.json()
    return document


def every_version(client: TestClient, key: str, project: str) -> list[tuple[Any, ...]]:
    """(path, version, sha256, size, author, job_id, message, created_at) of every version."""
    out = []
    for f in get(client, key, f"/v1/projects/{project}/files")["items"]:
        url = f"/v1/projects/{project}/files/{f['path']}/history"
        for v in get(client, key, url)["items"]:
            out.append(tuple(v[k] for k in FIELDS))
    return sorted(out)


FIELDS = ("path", "version", "sha256", "size", "author", "job_id", "message", "created_at")


def test_export_then_import_into_another_project_keeps_every_version_exactly(
    client: TestClient, api_key: str, project: str
) -> None:
    """Paths, versions, SHA-256s, authors, jobs, messages and times all survive, and so
    do the bytes (text with CRLF and accents, and binary)."""
    document = export(client, api_key, project)
    assert document["format"] == "spark.file-history/1"
    assert document["project_id"] == project
    assert [f["path"] for f in document["files"]][-1] == PLAYER
    target = new_project(client, api_key, "shooter-copy")
    resp = client.post(
        f"/v1/projects/{target}/history/import", json=document, headers=auth(api_key)
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["versions"] == 6 and len(resp.json()["files"]) == 4
    assert every_version(client, api_key, target) == every_version(client, api_key, project)
    raw = {**auth(api_key), "Accept": "application/octet-stream"}
    icon = client.get(f"/v1/projects/{target}/files/Assets/Art/icon.png", headers=raw)
    assert icon.content == ICON
    brain = get(client, api_key, f"/v1/projects/{target}/files/Assets/Scripts/AI/Brain.cs")
    assert brain["content"] == "// café ✓\r\nclass Brain {}\n"
    assert export(client, api_key, target)["files"] == document["files"]


def test_importing_onto_a_project_that_has_one_of_the_paths_is_409_and_writes_nothing(
    client: TestClient, api_key: str, project: str, db: Database
) -> None:
    document = export(client, api_key, project)
    target = new_project(client, api_key, "half-there")
    put(db, target, "Assets/Scripts/Enemy.cs", b"class Enemy { }\n")
    before = stored_counts(db)
    resp = client.post(
        f"/v1/projects/{target}/history/import", json=document, headers=auth(api_key)
    )
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"]["details"]["paths"] == ["Assets/Scripts/Enemy.cs"]
    assert stored_counts(db) == before
    listed = get(client, api_key, f"/v1/projects/{target}/files")["items"]
    assert [f["path"] for f in listed] == ["Assets/Scripts/Enemy.cs"]


def one_file(path: str, content: bytes) -> dict[str, Any]:
    """A history document of one path at one version."""
    return {
        "format": "spark.file-history/1",
        "files": [
            {
                "path": path,
                "versions": [
                    {
                        "version": 1,
                        "sha256": sha256_of(content),
                        "size": len(content),
                        "author": {"user": "alice", "subject": None},
                        "job_id": None,
                        "message": "imported",
                        "created_at": "2026-01-02T03:04:05+00:00",
                        "content": content.decode(),
                    }
                ],
            }
        ],
    }


def with_good_file_first(document: dict[str, Any]) -> dict[str, Any]:
    """document with a valid file before its own, so a partial write would show."""
    good = one_file("Assets/Scripts/Good.cs", b"class Good {}\n")["files"][0]
    return {**document, "files": [good, *document["files"]]}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("Assets/../x.cs", "files.1.path"),
        ("/etc/passwd", "files.1.path"),
        ("Assets/a\x00b.cs", "files.1.path"),
        ("Assets\\Scripts\\x.cs", "files.1.path"),
    ],
    ids=["dot-dot", "absolute", "nul", "backslash"],
)
def test_an_import_with_a_bad_path_is_a_422_naming_it_and_writes_nothing(
    client: TestClient, api_key: str, db: Database, path: str, field: str
) -> None:
    target = new_project(client, api_key)
    document = with_good_file_first(one_file(path, b"class X {}\n"))
    resp = client.post(
        f"/v1/projects/{target}/history/import", json=document, headers=auth(api_key)
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"]["field"] == field
    assert stored_counts(db) == (0, 0)


def test_an_import_with_a_file_over_200_kb_is_a_422_naming_it_and_writes_nothing(
    client: TestClient, api_key: str, db: Database
) -> None:
    target = new_project(client, api_key)
    big = b"/" * (201 * 1024)
    document = with_good_file_first(one_file("Assets/Scripts/Big.cs", big))
    resp = client.post(
        f"/v1/projects/{target}/history/import", json=document, headers=auth(api_key)
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"]["field"] == "files.1.versions.0.content"
    assert stored_counts(db) == (0, 0)


def broken(change: str) -> dict[str, Any]:
    document = with_good_file_first(one_file("Assets/Scripts/A.cs", b"class A {}\n"))
    version = document["files"][1]["versions"][0]
    if change == "sha256":
        version["sha256"] = sha256_of(b"something else")
    elif change == "gap":
        second = copy.deepcopy(version)
        document["files"][1]["versions"].append({**second, "version": 3})
    elif change == "base64":
        version["content"], version["content_base64"] = None, "not base64!"
    elif change == "both":
        version["content_base64"] = base64.b64encode(b"class A {}\n").decode()
    return document


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("sha256", "files.1.versions.0.sha256"),
        ("gap", "files.1.versions.1.version"),
        ("base64", "files.1.versions.0.content_base64"),
        ("both", "files.1.versions.0.content"),
    ],
)
def test_an_import_that_does_not_add_up_is_a_422_naming_the_field_and_writes_nothing(
    client: TestClient, api_key: str, db: Database, change: str, field: str
) -> None:
    """A hash that is not the content's, versions that skip one, content that is not
    base64, or content given twice."""
    target = new_project(client, api_key)
    resp = client.post(
        f"/v1/projects/{target}/history/import", json=broken(change), headers=auth(api_key)
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"]["field"] == field
    assert stored_counts(db) == (0, 0)


def file_requests(project: str, document: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """One valid request per file route: (method, route path) → (url, JSON body or None)."""
    base = f"/v1/projects/{project}"
    return {
        ("GET", f"{file_routes._PROJECT}/files"): (f"{base}/files", None),
        ("GET", file_routes._FILE): (f"{base}/files/{PLAYER}", None),
        ("DELETE", file_routes._FILE): (f"{base}/files/{PLAYER}", None),
        ("GET", f"{file_routes._FILE}/history"): (f"{base}/files/{PLAYER}/history", None),
        ("POST", f"{file_routes._FILE}/rollback"): (
            f"{base}/files/{PLAYER}/rollback",
            {"to_version": 1},
        ),
        ("GET", f"{file_routes._PROJECT}/history/export"): (f"{base}/history/export", None),
        ("POST", f"{file_routes._PROJECT}/history/import"): (f"{base}/history/import", document),
    }


def test_another_user_gets_404_on_every_file_route_and_changes_nothing(
    client: TestClient, api_key: str, other_key: str, project: str, db: Database
) -> None:
    """mallory, with valid requests for alice's project, learns nothing: the same 404 as for
    a project that does not exist, on every route of the module, and nothing is written."""
    document = one_file("Assets/Scripts/New.cs", b"class New {}\n")
    requests = file_requests(project, document)
    assert set(requests) == {(r.method, r.path) for r in file_routes.routes}
    before = stored_counts(db)
    for (method, _), (url, body) in requests.items():
        for accept in ("application/json", "application/octet-stream"):
            headers = {**auth(other_key), "Accept": accept}
            resp = client.request(method, url, json=body, headers=headers)
            assert resp.status_code == 404, (method, url, resp.text)
            nowhere = url.replace(project, str(uuid.uuid4()))
            unknown = client.request(method, nowhere, json=body, headers=headers)
            assert unknown.json() == resp.json(), (method, url)
    assert stored_counts(db) == before
    assert get(client, api_key, f"/v1/projects/{project}/files/{PLAYER}")["version"] == 3


# `spark files`, against `spark api` as operators run it.


def spark_cli(server: ApiProcess, key: str, *args: str) -> Result:
    env = {"SPARK_API_URL": server.url, "SPARK_API_KEY": key}
    return CliRunner().invoke(cli_app, ["files", *args], env=env)


def test_spark_files_lists_shows_and_diffs_versions_of_a_file(
    api_server: ApiProcess, api_key: str, project: str
) -> None:
    """ls, show (exact bytes), history and diff, by project name, in text and --json."""
    listed = spark_cli(api_server, api_key, "ls", "shooter", "Assets/Scripts/", "--json")
    assert listed.exit_code == 0, listed.output
    assert [f["path"] for f in json.loads(listed.stdout)["items"]][-1] == PLAYER
    assert PLAYER in spark_cli(api_server, api_key, "ls", project).stdout
    shown = spark_cli(api_server, api_key, "show", "shooter", "Assets/Art/icon.png")
    assert shown.exit_code == 0 and shown.stdout_bytes == ICON
    older = spark_cli(api_server, api_key, "show", project, PLAYER, "--version", "2", "--json")
    assert json.loads(older.stdout)["content"] == "class Player { int hp; }\n"
    history = spark_cli(api_server, api_key, "history", project, PLAYER, "--json")
    assert [v["version"] for v in json.loads(history.stdout)["items"]] == [3, 2, 1]
    assert "edit 2" in spark_cli(api_server, api_key, "history", project, PLAYER).stdout
    latest = spark_cli(api_server, api_key, "diff", project, PLAYER)
    assert latest.exit_code == 0, latest.output
    assert f"--- {PLAYER}@2\n+++ {PLAYER}@3\n" in latest.stdout
    assert "-class Player { int hp; }\n+class Player {}\n" in latest.stdout
    chosen = spark_cli(
        api_server, api_key, "diff", project, PLAYER, "--from", "1", "--to", "2", "--json"
    )
    assert json.loads(chosen.stdout)["from"] == 1 and json.loads(chosen.stdout)["to"] == 2
    assert "+class Player { int hp; }\n" in json.loads(chosen.stdout)["diff"]


def test_spark_files_rolls_back_exports_and_imports_and_reports_errors_as_json(
    api_server: ApiProcess, api_key: str, project: str, client: TestClient, tmp_path: Path
) -> None:
    rolled = spark_cli(api_server, api_key, "rollback", project, PLAYER, "--to", "2", "--json")
    assert rolled.exit_code == 0, rolled.output
    assert json.loads(rolled.stdout)["version"] == 4
    saved = tmp_path / "history.json"
    exported = spark_cli(api_server, api_key, "export", project, "--output", str(saved))
    assert exported.exit_code == 0, exported.output
    new_project(client, api_key, "copy")
    imported = spark_cli(api_server, api_key, "import", "copy", str(saved), "--json")
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["versions"] == 7
    again = spark_cli(api_server, api_key, "import", "copy", str(saved), "--json")
    assert again.exit_code == 2
    assert json.loads(again.stdout)["error"]["code"] == "conflict"
    missing = spark_cli(api_server, api_key, "show", project, "Assets/Nope.cs")
    assert missing.exit_code == 2 and "404" in missing.stderr
