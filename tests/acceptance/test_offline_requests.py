"""The offline generator through the API, a real worker and the CLI: a request it covers is
written to the project; a request it has no behaviour for succeeds with an empty class whose
diagnostics say so, writes nothing, and the CLI shows the warning."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.projects import files
from spark.security.apikeys import MintedKey, create_key
from tests.support.jobs import TERMINAL, assert_result_matches_its_model, auth, wait_state
from tests.support.services import free_port
from tests.support.workers import ApiProcess, WorkerProcess, spark_env

UNRELATED = "a shader that renders fur with anisotropic highlights"


@pytest.fixture(scope="module")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(settings, Path(tmp_path_factory.mktemp("worker")), concurrency=1)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def key(db: Database) -> MintedKey:
    return create_key(db, "alice", Tier.PRO, DEFAULT_PERMISSIONS)


def _generate(client: TestClient, key: MintedKey, db: Database, body: dict[str, Any]) -> Any:
    """Submit a generate_script job and return its result once it succeeded."""
    resp = client.post(
        "/v1/jobs", json={"kind": "generate_script", **body}, headers=auth(key.token)
    )
    assert resp.status_code == 202, resp.text
    job = wait_state(db, resp.json()["id"], TERMINAL)
    assert job.state.value == "succeeded", job.error
    assert_result_matches_its_model("generate_script", job.result)
    return job.result


def test_an_unmatched_request_writes_nothing_and_says_so_while_a_matched_one_is_written(
    client: TestClient, key: MintedKey, worker: WorkerProcess, db: Database
) -> None:
    """A door is written as version 1 with no diagnostics; a fur shader written to the same
    project succeeds with the no-match warning and "was not written", and no file exists."""
    body = {"name": f"offline-{uuid.uuid4().hex[:6]}", "source_dir": "/srv/unity/offline"}
    project = client.post("/v1/projects", json=body, headers=auth(key.token)).json()["id"]
    door = {"prompt": "a door that opens when the player comes near", "class_name": "Door"}
    written = _generate(
        client, key, db, {"project_id": project, "params": {**door, "write_to_project": True}}
    )
    assert written["version"] == 1 and written["diagnostics"] == []
    stored = files.read(db, uuid.UUID(project), "Assets/Scripts/Door.cs", None)
    assert stored is not None and b"public void Open()" in stored.content

    params = {"prompt": UNRELATED, "class_name": "Fur", "write_to_project": True}
    result = _generate(client, key, db, {"project_id": project, "params": params})
    first, unwritten = result["diagnostics"]
    assert first["message"].startswith("no offline behaviour matched")
    assert (first["severity"], first["source"]) == ("warning", "generator")
    assert unwritten["message"] == "Assets/Scripts/Fur.cs was not written"
    assert result.get("version") is None
    assert "public class Fur : MonoBehaviour\n{\n" in result["code"]
    assert files.read(db, uuid.UUID(project), "Assets/Scripts/Fur.cs", None) is None


def test_the_cli_shows_the_no_match_warning_with_the_empty_class(
    key: MintedKey, worker: WorkerProcess, db: Database, settings: Settings, tmp_path: Path
) -> None:
    """`spark submit generate_script … --wait` prints the warning above the code and exits 0."""
    api = ApiProcess(settings, tmp_path, free_port())
    api.start()
    env = spark_env(settings, SPARK_API_URL=api.url, SPARK_API_KEY=key.token, COLUMNS="400")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "spark.cli", "submit", "generate_script",
             "--param", f"prompt={UNRELATED}", "--param", "class_name=Fur", "--wait"],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
    finally:
        api.stop()
    assert done.returncode == 0, done.stderr
    assert "warning (line 1): no offline behaviour matched" in done.stdout
    assert "SPARK_LLM_BASE_URL" in done.stdout
    assert done.stdout.index("warning") < done.stdout.index("public class Fur")
