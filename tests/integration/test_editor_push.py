"""The handlers that write project files push them into the project's editor: run on the real
file store, with an in-process editor standing in for unity-mcp."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from spark.config import Settings
from spark.db import projects as project_queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.files import Author
from spark.domain.jobs import Job, JobKind, JobState
from spark.domain.projects import Project
from spark.engines.unity.bridge import Diagnostic
from spark.engines.unity.builds import BuildEnvironment
from spark.handlers.assets import generate_asset
from spark.handlers.patches import apply_patch
from spark.handlers.presets import apply_preset
from spark.handlers.scripts import generate_script
from spark.jobs.runner import Handler, JobContext
from spark.jobs.tools import Tools
from spark.kv.factory import make_preview_cache
from spark.llm.factory import make_generator
from spark.projects import files
from spark.security.destinations import Destinations
from spark.storage.artifacts import Artifacts
from spark.storage.live_logs import make_log_store
from spark.storage.local import LocalBlobs
from tests.support.fake_editor import FakeEditor, sha

COIN = "Assets/Scripts/Coin.cs"
EDITOR_URL = "http://127.0.0.1:9/mcp"


def project_with(db: Database, unity_mcp_url: str | None) -> uuid.UUID:
    project = Project(
        uuid.uuid4(), "alice", f"game-{uuid.uuid4().hex[:6]}", utcnow(), "/tmp", None, None,
        unity_mcp_url,
    )  # fmt: skip
    with db.transaction() as tx:
        project_queries.insert_project(tx, project)
    return project.id


def run(
    handler: Handler, kind: JobKind, params: Mapping[str, Any], tools: Tools, project: uuid.UUID
) -> Mapping[str, Any]:
    job = Job(uuid.uuid4(), "alice", kind, JobState.RUNNING, params, utcnow(), project_id=project)
    return handler(JobContext(job, 1, lambda _percent, _message: None, tools))


def tools_with(db: Database, settings: Settings, editor: FakeEditor, tmp: Path) -> Tools:
    blobs = LocalBlobs(tmp / "storage")
    artifacts = Artifacts(blobs)
    builds = BuildEnvironment(None, tmp / "ws", artifacts, make_log_store(settings, blobs), 60.0)
    offline = settings.model_copy(update={"llm_base_url": None})
    # The fake editor's URL is on 127.0.0.1, as the suite's webhook receivers are.
    allowed = Destinations(allow_private=True)
    previews = make_preview_cache(settings)
    return Tools(
        db, make_generator(offline), artifacts, builds, editor, previews, destinations=allowed
    )


@pytest.fixture
def editor() -> FakeEditor:
    return FakeEditor(url=EDITOR_URL)


@pytest.fixture
def tools(db: Database, settings: Settings, editor: FakeEditor, tmp_path: Path) -> Tools:
    return tools_with(db, settings, editor, tmp_path)


def replace(old: str, new: str) -> dict[str, Any]:
    return {"path": COIN, "patch_type": "replace", "old": old, "new": new}


def test_a_patch_is_pushed_over_the_version_it_replaced(
    db: Database, tools: Tools, editor: FakeEditor
) -> None:
    project = project_with(db, EDITOR_URL)
    files.write(db, project, COIN, b"class Coin { int v = 1; }\n", Author("alice"), "first")
    editor.files[COIN] = b"class Coin { int v = 1; }\n"
    result = run(apply_patch, JobKind.APPLY_PATCH, replace("1", "2"), tools, project)
    assert editor.calls[0] == ("write_file", COIN, sha(b"class Coin { int v = 1; }\n"))
    assert editor.files[COIN] == b"class Coin { int v = 2; }\n"
    assert result["editor"] == {"pushed": [COIN], "stale": [], "diagnostics": []}


def test_a_file_edited_in_the_editor_stays_and_the_job_says_so(
    db: Database, tools: Tools, editor: FakeEditor
) -> None:
    project = project_with(db, EDITOR_URL)
    files.write(db, project, COIN, b"class Coin { int v = 1; }\n", Author("alice"), "first")
    editor.files[COIN] = b"class Coin { int v = 7; }\n"
    result = run(apply_patch, JobKind.APPLY_PATCH, replace("1", "2"), tools, project)
    assert result["version"] == 2  # SPARK has the patched file all the same
    assert result["editor"]["stale"] == [
        {
            "path": COIN,
            "expected_sha256": sha(b"class Coin { int v = 1; }\n"),
            "current_sha256": sha(b"class Coin { int v = 7; }\n"),
        }
    ]
    assert editor.files[COIN] == b"class Coin { int v = 7; }\n"
    assert [call[0] for call in editor.calls] == ["write_file"]


def test_an_unreachable_editor_does_not_fail_the_job_that_wrote(
    db: Database, tools: Tools, editor: FakeEditor
) -> None:
    editor.down_from = "write_file"
    project = project_with(db, EDITOR_URL)
    params = {
        "prompt": "a coin the player picks up",
        "class_name": "Coin",
        "write_to_project": True,
    }
    result = run(generate_script, JobKind.GENERATE_SCRIPT, params, tools, project)
    assert result["version"] == 1
    assert result["editor"]["error"] == f"editor_unavailable: {EDITOR_URL} did not answer"
    stored = files.read(db, project, COIN)
    assert stored is not None and stored.content == result["code"].encode()


def test_a_generated_script_carries_the_editors_errors_about_it(
    db: Database, tools: Tools, editor: FakeEditor
) -> None:
    editor.console_entries = [
        Diagnostic(COIN, 4, "CS0246: The type or namespace name 'Rigidbody3D' could not be found"),
        Diagnostic("Assets/Scripts/Other.cs", 1, "CS1002: ; expected"),
    ]
    project = project_with(db, EDITOR_URL)
    params = {
        "prompt": "a coin the player picks up",
        "class_name": "Coin",
        "write_to_project": True,
    }
    result = run(generate_script, JobKind.GENERATE_SCRIPT, params, tools, project)
    assert editor.calls[0] == ("write_file", COIN, "None")  # a new file
    assert result["diagnostics"] == [
        {
            "file": COIN,
            "line": 4,
            "column": None,
            "message": "CS0246: The type or namespace name 'Rigidbody3D' could not be found",
            "source": "editor",
        }
    ]
    assert len(result["editor"]["diagnostics"]) == 1


def test_a_preset_and_an_asset_push_every_file_they_write_with_one_refresh(
    db: Database, tools: Tools, editor: FakeEditor
) -> None:
    project = project_with(db, EDITOR_URL)
    preset = run(apply_preset, JobKind.APPLY_PRESET, {"preset_id": "2d-platformer"}, tools, project)
    assert preset["editor"]["pushed"] == [ref["path"] for ref in preset["written"]]
    asset_params = {"asset_type": "material", "name": "Gold", "path": "Assets/Art/Gold.mat"}
    asset = run(generate_asset, JobKind.GENERATE_ASSET, asset_params, tools, project)
    assert asset["editor"]["pushed"] == ["Assets/Art/Gold.mat", "Assets/Art/Gold.mat.meta"]
    assert [call[0] for call in editor.calls].count("refresh") == 2


def test_a_project_without_its_own_editor_pushes_nothing(
    db: Database, tools: Tools, editor: FakeEditor
) -> None:
    project = project_with(db, None)
    files.write(db, project, COIN, b"class Coin { int v = 1; }\n", Author("alice"), "first")
    result = run(apply_patch, JobKind.APPLY_PATCH, replace("1", "2"), tools, project)
    assert "editor" not in result and editor.calls == []


def test_a_project_editor_on_a_private_address_gets_nothing_unless_allowed(
    db: Database, settings: Settings, editor: FakeEditor, tmp_path: Path
) -> None:
    """The URL is the project owner's: refused like a webhook's, the files stay in SPARK."""
    strict = dataclasses.replace(
        tools_with(db, settings, editor, tmp_path), destinations=Destinations()
    )
    project = project_with(db, EDITOR_URL)
    files.write(db, project, COIN, b"class Coin { int v = 1; }\n", Author("alice"), "first")
    result = run(apply_patch, JobKind.APPLY_PATCH, replace("v = 1", "v = 2"), strict, project)
    assert result["version"] == 2
    assert result["editor"]["pushed"] == [] and "may not be called" in result["editor"]["error"]
    assert editor.calls == []
