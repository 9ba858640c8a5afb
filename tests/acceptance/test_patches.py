"""apply_patch and generate_script's write_to_project through the API and a real Celery worker:
every edit a numbered version with its author and job, racing edits never lost (or, pinned to a
stale version, refused), and a patch that cannot apply failing with what to fix."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db import files as file_queries
from spark.db.executor import Database
from spark.db.models import JobRow
from spark.domain.files import Author, sha256_of
from spark.domain.jobs import Job
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.engines.patching import unified_diff
from spark.projects import files
from spark.security.apikeys import MintedKey, create_key
from tests.support.jobs import TERMINAL, assert_result_matches_its_model, auth, wait_state
from tests.support.services import free_port
from tests.support.workers import ApiProcess, WorkerProcess, spark_env

PATH = "Assets/Scripts/Coin.cs"
SCRIPT = {
    "prompt": "a coin that spins and can be collected",
    "class_name": "Coin",
    "write_to_project": True,
}
#: how long the worker's offline generator takes per script: a generate_script job holds a
#: worker process that long, so a test can keep every process busy while it submits
GENERATION_S = 1.0
WORKER_PROCESSES = 4
MARKED = "public class Marked\n{\n    void Start() { }\n    // END\n}\n"


@pytest.fixture(scope="module")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """Four worker processes, so concurrent patches of one file really race each other."""
    proc = WorkerProcess(
        settings,
        Path(tmp_path_factory.mktemp("worker")),
        concurrency=WORKER_PROCESSES,
        SPARK_OFFLINE_LATENCY_S=str(GENERATION_S),
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def key(db: Database) -> MintedKey:
    """alice's key at the tier whose limits let a test submit dozens of jobs at once."""
    return create_key(db, "alice", Tier.ENTERPRISE, DEFAULT_PERMISSIONS)


@pytest.fixture
def project(client: TestClient, key: MintedKey) -> str:
    body = {"name": f"coins-{uuid.uuid4().hex[:6]}", "source_dir": "/srv/unity/coins"}
    resp = client.post("/v1/projects", json=body, headers=auth(key.token))
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def post(client: TestClient, key: MintedKey, project: str, kind: str, params: Any) -> Any:
    body = {"kind": kind, "project_id": project, "params": params}
    return client.post("/v1/jobs", json=body, headers=auth(key.token))


def run(client: TestClient, key: MintedKey, db: Database, project: str, params: Any) -> Job:
    """Submit an apply_patch job for PATH and wait for its end."""
    resp = post(client, key, project, "apply_patch", {"path": PATH, **params})
    assert resp.status_code == 202, resp.text
    return wait_state(db, resp.json()["id"], TERMINAL)


def succeeded(job: Job) -> dict[str, Any]:
    assert job.state.value == "succeeded", job.error
    assert job.result is not None
    assert_result_matches_its_model(job.kind.value, job.result)
    return dict(job.result)


def content(db: Database, project: str, version: int | None = None) -> bytes:
    found = files.read(db, uuid.UUID(project), PATH, version)
    assert found is not None
    return found.content


def job_count(db: Database) -> int:
    with db.transaction() as tx:
        return int(tx.scalar(select(func.count()).select_from(JobRow)) or 0)


def test_a_generated_script_patched_three_ways_and_rolled_back_keeps_every_version(
    client: TestClient, key: MintedKey, worker: WorkerProcess, db: Database, project: str
) -> None:
    """Five versions: generated, replace, unified diff, insert_after, rollback to 1; each with
    its exact bytes and SHA-256, by alice through her key, and by the job that wrote it."""
    resp = post(client, key, project, "generate_script", SCRIPT)
    assert resp.status_code == 202, resp.text
    generated = succeeded(wait_state(db, resp.json()["id"], TERMINAL))
    v1 = generated["code"].encode()
    assert (generated["path"], generated["version"]) == (PATH, 1)
    assert generated["sha256"] == sha256_of(v1) and content(db, project) == v1

    v2 = v1.replace(b"rotationSpeed = 90f;", b"rotationSpeed = 180f;")
    v3 = v2.replace(b"using UnityEngine;\n", b"using System;\nusing UnityEngine;\n")
    anchor = "public class Coin : MonoBehaviour\n{\n"
    v4 = v3.replace(anchor.encode(), anchor.encode() + b"    // END\n")
    patches = [
        {"patch_type": "replace", "old": "rotationSpeed = 90f;", "new": "rotationSpeed = 180f;"},
        {"patch_type": "unified_diff", "diff": unified_diff(PATH, v2, v3)},
        {"patch_type": "insert_after", "anchor": anchor, "new": "    // END\n"},
    ]
    steps = zip(patches, [v1, v2, v3], [v2, v3, v4], strict=True)
    for number, (patch, before, after) in enumerate(steps, 2):
        result = succeeded(run(client, key, db, project, {**patch, "base_version": number - 1}))
        assert result == {
            "path": PATH,
            "version": number,
            "sha256": sha256_of(after),
            "diff": unified_diff(PATH, before, after),
        }
    job_ids = [uuid.UUID(j["id"]) for j in _jobs_of(client, key, project)]

    files_url = f"/v1/projects/{project}/files/{PATH}"
    back = client.post(f"{files_url}/rollback", json={"to_version": 1}, headers=auth(key.token))
    assert back.status_code == 201 and back.json()["version"] == 5, back.text
    history = client.get(f"{files_url}/history", headers=auth(key.token)).json()["items"]
    assert [v["version"] for v in history] == [5, 4, 3, 2, 1]
    expected = [v1, v2, v3, v4, v1]
    for version in history:
        number = version["version"]
        shown = client.get(f"{files_url}?version={number}", headers=auth(key.token)).json()
        assert shown["content"].encode() == expected[number - 1]
        assert version["sha256"] == shown["sha256"] == sha256_of(expected[number - 1])
        assert version["size"] == len(expected[number - 1])
    subject = {"user": "alice", "subject": key.record.key_id}
    assert [(v["author"], v["job_id"]) for v in reversed(history)] == [
        *[(subject, str(job)) for job in job_ids],
        (subject, None),
    ]


def _jobs_of(client: TestClient, key: MintedKey, project: str) -> list[dict[str, Any]]:
    """The project's jobs, oldest first."""
    resp = client.get(f"/v1/jobs?project_id={project}", headers=auth(key.token))
    return list(reversed(resp.json()["items"]))


def occupy_every_worker_process(client: TestClient, key: MintedKey, db: Database) -> None:
    """Start one slow generate_script per worker process and wait until all run: jobs
    submitted now stay queued for a while, then run together."""
    params = {"prompt": SCRIPT["prompt"], "class_name": "Blocker"}
    body = {"kind": "generate_script", "params": params}
    ids = [
        client.post("/v1/jobs", json=body, headers=auth(key.token)).json()["id"]
        for _ in range(WORKER_PROCESSES)
    ]
    for job_id in ids:
        wait_state(db, job_id, {"running"})


def _at_once(count: int, submit: Any) -> list[Any]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(submit, range(count)))


def test_twenty_patches_pinned_to_one_version_let_exactly_one_through(
    client: TestClient, key: MintedKey, worker: WorkerProcess, db: Database, project: str
) -> None:
    """The others end version_conflict naming the current version, or are refused with a 409
    at the API; the file gains exactly one version."""
    created = succeeded(run(client, key, db, project, {"patch_type": "full", "content": MARKED}))
    assert created["version"] == 1 and created["diff"].startswith("--- /dev/null\n")
    occupy_every_worker_process(client, key, db)

    def submit(i: int) -> Any:
        params = {"path": PATH, "patch_type": "full", "content": f"// writer {i}\n" + MARKED}
        return post(client, key, project, "apply_patch", {**params, "base_version": 1})

    responses = _at_once(20, submit)
    assert {r.status_code for r in responses} <= {202, 409}
    refused = [r.json()["error"] for r in responses if r.status_code == 409]
    assert all(e["code"] == "version_conflict" for e in refused)
    ended = [wait_state(db, r.json()["id"], TERMINAL) for r in responses if r.status_code == 202]
    winners = [job for job in ended if job.state.value == "succeeded"]
    assert len(winners) == 1, [job.error for job in ended]
    for job in ended:
        if job is not winners[0]:
            assert job.state.value == "failed" and job.error is not None
            assert job.error.code == "version_conflict"
            assert job.error.details == {"current_version": 2, "base_version": 1}
    with db.transaction() as tx:
        assert [v.version for v in file_queries.history(tx, uuid.UUID(project), PATH, 50)] == [2, 1]


def test_twenty_unpinned_patches_at_once_each_land_as_a_version_of_their_own(
    client: TestClient, key: MintedKey, worker: WorkerProcess, db: Database, project: str
) -> None:
    """Each replaces the marker line with its own line and the marker: every line survives."""
    succeeded(run(client, key, db, project, {"patch_type": "full", "content": MARKED}))
    occupy_every_worker_process(client, key, db)

    def submit(i: int) -> Any:
        params = {
            "patch_type": "replace",
            "old": "    // END",
            "new": f"    // line {i}\n    // END",
        }
        return post(client, key, project, "apply_patch", {"path": PATH, **params})

    responses = _at_once(20, submit)
    assert [r.status_code for r in responses] == [202] * 20
    results = [succeeded(wait_state(db, r.json()["id"], TERMINAL)) for r in responses]
    assert sorted(r["version"] for r in results) == list(range(2, 22))
    final = content(db, project).decode()
    assert content(db, project, 21) == final.encode()
    assert sorted(line for line in final.splitlines() if "// line" in line) == sorted(
        f"    // line {i}" for i in range(20)
    )
    assert final.endswith("    // END\n}\n")


def test_a_patch_that_cannot_apply_fails_saying_what_to_fix_and_writes_nothing(
    client: TestClient, key: MintedKey, worker: WorkerProcess, db: Database, project: str
) -> None:
    """An ambiguous `old` (its count and positions), a hunk that does not match (its number
    and line), a patch breaking C# with validate (line:column): three failed jobs, one version."""
    succeeded(run(client, key, db, project, {"patch_type": "full", "content": MARKED}))
    twice = run(client, key, db, project, {"patch_type": "replace", "old": "{", "new": "("})
    hunk = "@@ -1,2 +1,2 @@\n public class Marked\n-(\n+{ // opened\n"
    stale = run(client, key, db, project, {"patch_type": "unified_diff", "diff": hunk})
    broken_line = {"patch_type": "insert_after", "anchor": "// END\n", "new": "    int x = ;\n"}
    broken = run(client, key, db, project, broken_line)

    errors = [job.error for job in (twice, stale, broken)]
    assert all(job.state.value == "failed" for job in (twice, stale, broken))
    assert [e.code for e in errors if e] == ["patch_failed", "patch_failed", "invalid_code"]
    assert errors[0] is not None and errors[0].details is not None
    assert errors[0].message.startswith("old occurs 2 times (at line:column 2:1, 3:18)")
    assert errors[0].details["positions"] == [{"line": 2, "column": 1}, {"line": 3, "column": 18}]
    assert errors[1] is not None and errors[1].message.startswith(
        "hunk 1 does not apply at line 2: the file has '{', the hunk expects '('"
    )
    assert errors[2] is not None and errors[2].details is not None
    first = errors[2].details["diagnostics"][0]
    assert (first["line"], first["column"]) == (5, 11)  # the "= ;" of the inserted line
    assert f"at line:column {first['line']}:{first['column']}" in errors[2].message
    assert content(db, project) == MARKED.encode()
    with db.transaction() as tx:
        assert len(file_queries.history(tx, uuid.UUID(project), PATH, 50)) == 1


def test_a_stale_base_version_is_a_409_at_submission_and_creates_no_job(
    client: TestClient, key: MintedKey, worker: WorkerProcess, db: Database, project: str
) -> None:
    """The error names the file's current version; a base of a file that does not exist is 0."""
    succeeded(run(client, key, db, project, {"patch_type": "full", "content": MARKED}))
    succeeded(run(client, key, db, project, {"patch_type": "full", "content": MARKED + "\n"}))
    before = job_count(db)
    params = {"path": PATH, "patch_type": "replace", "old": "Marked", "new": "Kept"}
    resp = post(client, key, project, "apply_patch", {**params, "base_version": 1})
    assert resp.status_code == 409, resp.text
    assert resp.json()["error"] == {
        "code": "version_conflict",
        "message": "the file is at version 2, not 1",
        "details": {"current_version": 2, "base_version": 1},
    }
    missing = {**params, "path": "Assets/Scripts/Missing.cs", "base_version": 3}
    resp = post(client, key, project, "apply_patch", missing)
    assert resp.status_code == 409 and resp.json()["error"]["details"]["current_version"] == 0
    assert job_count(db) == before


def test_spark_patch_edits_a_file_of_a_project_named_on_the_command_line(
    client: TestClient,
    key: MintedKey,
    worker: WorkerProcess,
    db: Database,
    settings: Settings,
    tmp_path: Path,
) -> None:
    """`spark patch NAME PATH --diff - --wait --json` exits 0 with the new version; a patch that
    does not apply exits 1 with the job's error; a stale --base-version exits 2 with the 409."""
    name = f"cli-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "source_dir": "/srv/unity/cli"}
    project = client.post("/v1/projects", json=body, headers=auth(key.token)).json()["id"]
    succeeded(run(client, key, db, project, {"patch_type": "full", "content": MARKED}))
    api = ApiProcess(settings, tmp_path, free_port())
    api.start()
    env = spark_env(settings, SPARK_API_URL=api.url, SPARK_API_KEY=key.token)

    def spark_patch(*args: str, stdin: str = "") -> tuple[int, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "spark.cli", "patch", name, PATH, *args, "--json"],
            input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip
        return done.returncode, json.loads(done.stdout)

    try:
        changed = MARKED.replace("void Start() { }", "void Awake() { }").encode()
        diff = unified_diff(PATH, MARKED.encode(), changed)
        status, job = spark_patch("--diff", "-", "--base-version", "1", "--wait", stdin=diff)
        assert status == 0 and job["result"]["version"] == 2, job
        status, job = spark_patch("--replace", "{", "(", "--wait")
        assert status == 1 and job["error"]["code"] == "patch_failed", job
        status, answer = spark_patch(
            "--insert-after", "// END\n", "// more\n", "--base-version", "1"
        )
        assert status == 2 and answer["error"]["status"] == 409, answer
    finally:
        api.stop()
    assert content(db, project) == changed


GUARDRAILS = [
    ({"path": "Assets/../x.cs"}, "params.path"),
    ({"path": "/Assets/Coin.cs"}, "params.path"),
    ({"path": "Assets/Co\u0000in.cs"}, "params.path"),
    ({"path": "Assets\\Scripts\\Coin.cs"}, "params.path"),
    ({"path": "ProjectSettings/Coin.cs"}, "params.path"),
    ({"content": "x" * (201 * 1024)}, "params.content"),
]


@pytest.mark.parametrize(("change", "field"), GUARDRAILS)
def test_a_patch_outside_the_guardrails_is_a_422_naming_the_field_and_writes_nothing(
    client: TestClient, key: MintedKey, db: Database, project: str, change: Any, field: str
) -> None:
    files.write(db, uuid.UUID(project), PATH, b"class Coin {}\n", Author("alice"), "first")
    params = {"path": PATH, "patch_type": "full", "content": "class Coin { }\n", **change}
    resp = post(client, key, project, "apply_patch", params)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"]["field"] == field
    assert job_count(db) == 0 and content(db, project) == b"class Coin {}\n"
