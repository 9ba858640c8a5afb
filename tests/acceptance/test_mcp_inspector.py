"""/mcp driven by a third-party client, the MCP Inspector CLI from npm, against a real
`spark api` and worker: the tools it lists, the usage it reads, a script it has written and
the exit code it gives without credentials. The test tier installs the CLI itself
(tests/support/inspector.py); where it cannot, these tests fail saying why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from spark.contracts.tools import KIND_CALL_FIELDS
from spark.kinds import available
from tests.acceptance.test_mcp import FIXED, SCRIPT, mcp_url, new_project
from tests.support.inspector import (
    AUTH_REQUIRED,
    OK,
    Inspector,
    InspectorRun,
    InspectorUnavailable,
    installed_inspector,
)
from tests.support.mcp_client import bearer
from tests.support.workers import ApiProcess, WorkerProcess


@pytest.fixture(scope="module")
def inspector() -> Inspector:
    """The CLI, installed once before the module's first test (npm on the first run ever)."""
    try:
        return installed_inspector()
    except InspectorUnavailable as exc:
        pytest.fail(
            f"the MCP Inspector CLI is needed and cannot be installed: {exc}", pytrace=False
        )


def succeeded(run: InspectorRun) -> Any:
    assert run.code == OK, f"exit {run.code}: {run.stderr}"
    return run.result


def test_the_inspector_lists_every_kind_tool_and_the_fixed_tools(
    inspector: Inspector, api_server: ApiProcess, api_key: str, tmp_path: Path
) -> None:
    run = inspector.call(mcp_url(api_server), "tools/list", headers=bearer(api_key), home=tmp_path)
    tools = {tool["name"]: tool for tool in succeeded(run)["tools"]}
    kinds = {spec.kind.value for spec in available()}
    assert set(tools) == kinds | FIXED
    for name in kinds:  # what the CLI received is what it needs to call a kind's tool
        assert set(tools[name]["inputSchema"]["properties"]) >= KIND_CALL_FIELDS, name


def test_get_usage_through_the_inspector_is_what_get_v1_usage_answers(
    inspector: Inspector, api_server: ApiProcess, api_key: str, tmp_path: Path
) -> None:
    def over_http() -> dict[str, Any]:
        resp = httpx.get(f"{api_server.url}/v1/usage", headers=bearer(api_key))
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    before = over_http()
    run = inspector.call(
        mcp_url(api_server), "tools/call", headers=bearer(api_key), home=tmp_path, tool="get_usage"
    )
    result = succeeded(run)
    after = over_http()
    assert result["isError"] is False, result
    usage = result["structuredContent"]
    # each request counts, the tool's own included, so only the day's count moves
    assert before["day"]["requests"] < usage["day"]["requests"] < after["day"]["requests"]
    for body in (usage, after):
        body["day"].pop("requests")
    assert usage == after
    assert usage["user"] == "alice"


def test_a_script_written_through_the_inspector_with_wait_comes_back_succeeded(
    inspector: Inspector,
    api_server: ApiProcess,
    worker: WorkerProcess,
    api_key: str,
    tmp_path: Path,
) -> None:
    project_id = new_project(api_server, api_key, "inspector-script")
    args = {**SCRIPT, "project_id": project_id, "wait": True}
    run = inspector.call(
        mcp_url(api_server),
        "tools/call",
        headers=bearer(api_key),
        home=tmp_path,
        tool="generate_script",
        args=args,
    )
    result = succeeded(run)
    assert result["isError"] is False, result
    job = result["structuredContent"]
    assert job["state"] == "succeeded", job
    assert job["result"]["class_name"] == "PlayerMover"
    written = httpx.get(
        f"{api_server.url}/v1/projects/{project_id}/files/Assets/Scripts/PlayerMover.cs",
        headers=bearer(api_key),
    )
    assert written.status_code == 200, written.text


def test_the_inspector_without_credentials_exits_auth_required(
    inspector: Inspector, api_server: ApiProcess, tmp_path: Path
) -> None:
    run = inspector.call(mcp_url(api_server), "tools/list", home=tmp_path)
    assert run.code == AUTH_REQUIRED, f"exit {run.code}: {run.stdout} {run.stderr}"
    assert run.error["code"] == "auth_required", run.error
    assert run.stdout == ""
