"""An assist turn's tool call is checked as its user's own submission would be: params, the
project, the credential's permissions and the tier's quotas; a refusal says why."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from spark.config import DEFAULT_TIER_LIMITS, TierLimits
from spark.contracts.assist import Caller
from spark.db import projects as project_queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.files import Author
from spark.domain.jobs import JobKind
from spark.domain.principals import DEFAULT_PERMISSIONS, Permission, Tier
from spark.domain.projects import Project
from spark.handlers.assist_calls import Approved, Asker, Read, Refused, check, tool_definitions
from spark.jobs.submit import NewJob, queued_job
from spark.llm.base import ToolCall
from spark.projects import files

PRO = DEFAULT_TIER_LIMITS["pro"]
SCRIPT = {"prompt": "a coin the player collects", "class_name": "Coin", "write_to_project": True}


def asker(
    db: Database,
    project_id: uuid.UUID | None,
    permissions: frozenset[Permission] = DEFAULT_PERMISSIONS,
    limits: TierLimits = PRO,
) -> Asker:
    job = queued_job(NewJob("alice", JobKind.ASSIST, {"text": "hi"}, project_id=project_id))
    return Asker(db, job, Caller(tier=Tier.PRO, permissions=sorted(permissions)), limits)


def call(name: str, arguments: dict[str, Any]) -> ToolCall:
    return ToolCall("call_1", name, json.dumps(arguments))


def project_of(db: Database, owner: str) -> uuid.UUID:
    project = Project(uuid.uuid4(), owner, f"p-{uuid.uuid4().hex[:6]}", utcnow())
    with db.transaction() as tx:
        project_queries.insert_project(tx, project)
    return project.id


def test_a_call_within_the_users_rights_becomes_its_child_job(db: Database) -> None:
    project_id = project_of(db, "alice")
    found = check(asker(db, project_id), call("generate_script", SCRIPT))
    assert isinstance(found, Approved)
    assert (found.kind, found.project_id) == (JobKind.GENERATE_SCRIPT, project_id)
    assert found.params["class_name"] == "Coin" and found.params["write_to_project"] is True


@pytest.mark.parametrize(
    ("name", "arguments", "reason"),
    [
        ("generate_script", {"prompt": "short"}, "invalid arguments: prompt"),
        ("generate_script", {**SCRIPT, "colour": "red"}, "invalid arguments: colour"),
        ("unity_build", {"target": "WebGL"}, "unity_build needs a project"),
        ("render_preview", {"width": 9999, "height": 10}, "invalid arguments: width"),
        ("assist", {"text": "call yourself"}, "there is no tool named 'assist'"),
        ("read_file", {"path": "Assets/a.txt"}, "read_file needs a project"),
    ],
)
def test_a_call_that_would_be_a_422_is_refused_with_the_field(
    db: Database, name: str, arguments: dict[str, Any], reason: str
) -> None:
    found = check(asker(db, None), call(name, arguments))
    assert isinstance(found, Refused)
    assert found.reason.startswith(reason), found.reason


def test_writing_needs_a_project_and_a_named_project_must_be_the_users(db: Database) -> None:
    assert check(asker(db, None), call("generate_script", SCRIPT)) == Refused(
        "write_to_project needs a project to write into"
    )
    theirs = project_of(db, "mallory")
    named = call("generate_script", {**SCRIPT, "project_id": str(theirs)})
    assert check(asker(db, None), named) == Refused("project_id: no such project")
    named_badly = call("generate_script", {**SCRIPT, "project_id": "nope"})
    assert check(asker(db, None), named_badly) == Refused("project_id: not a project id")


def test_permissions_are_the_credentials_not_the_models(db: Database) -> None:
    project_id = project_of(db, "alice")
    generate_only = frozenset({Permission.READ, Permission.GENERATE})
    build = call("unity_build", {"target": "WebGL"})
    assert check(asker(db, project_id, generate_only), build) == Refused(
        "the user's credential lacks spark:build"
    )
    verified = {**SCRIPT, "verify": {"compile": True}}
    refused = check(asker(db, project_id, generate_only), call("generate_script", verified))
    assert refused == Refused("the user's credential lacks spark:build")
    read_only = frozenset({Permission.READ})
    assert isinstance(
        check(asker(db, project_id, read_only), call("generate_script", SCRIPT)), Refused
    )


def test_a_call_over_the_tiers_quota_is_refused(db: Database) -> None:
    project_id = project_of(db, "alice")
    no_tokens = PRO.model_copy(update={"tokens_per_month": 0})
    refused = check(asker(db, project_id, limits=no_tokens), call("generate_script", SCRIPT))
    assert refused == Refused("quota exceeded: 0 LLM tokens per month")
    no_builds = PRO.model_copy(update={"concurrent_builds": 0})
    build = call("unity_build", {"target": "WebGL"})
    assert check(asker(db, project_id, limits=no_builds), build) == Refused(
        "quota exceeded: 0 concurrent builds"
    )


def test_read_file_reads_the_users_project_and_nobody_elses(db: Database) -> None:
    mine, theirs = project_of(db, "alice"), project_of(db, "mallory")
    files.write(db, mine, "Assets/notes.txt", b"hello", Author("alice"), "setup")
    found = check(asker(db, mine), call("read_file", {"path": "Assets/notes.txt"}))
    assert isinstance(found, Read)
    assert json.loads(found.content) == {
        "path": "Assets/notes.txt",
        "version": 1,
        "content": "hello",
    }
    other = call("read_file", {"path": "Assets/notes.txt", "project_id": str(theirs)})
    assert check(asker(db, mine), other) == Refused("project_id: no such project")


def test_the_model_is_offered_every_kind_but_assist_and_read_file() -> None:
    names = {tool["function"]["name"] for tool in tool_definitions()}
    assert "assist" not in names
    assert {"generate_script", "render_preview", "unity_build", "read_file"} <= names
