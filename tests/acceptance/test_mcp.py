"""/mcp driven by the official SDK's ClientSession against a real `spark api` and worker: the
tools derived from the kind registry, a job followed with progress, files read and rolled
back exactly as over HTTP, a preview's frame as an image."""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.client.session import ClientSession
from PIL import Image

from spark.contracts.tools import KIND_CALL_FIELDS
from spark.db.executor import Database
from spark.kinds import available
from spark.web.mcp.server import catalog
from tests.acceptance.test_previews import SCENE
from tests.support.jobs import stored
from tests.support.mcp_client import bearer, run, structured
from tests.support.services import free_port
from tests.support.unity_editor import EditorStandIn
from tests.support.unity_mcp_real import UnityMcpServer
from tests.support.workers import ApiProcess, WorkerProcess

FIXED = {
    "get_job", "list_jobs", "cancel_job", "list_projects", "list_files", "read_file",
    "file_history", "diff_versions", "rollback_file", "get_build_log", "get_preview",
    "list_presets", "get_usage",
}  # fmt: skip
SCRIPT = {
    "prompt": "a player controller that moves and jumps",
    "class_name": "PlayerMover",
    "write_to_project": True,
}


def mcp_url(api: ApiProcess) -> str:
    return f"{api.url}/mcp"


def new_project(api: ApiProcess, key: str, name: str) -> str:
    resp = httpx.post(f"{api.url}/v1/projects", json={"name": name}, headers=bearer(key))
    assert resp.status_code == 201, resp.text
    project_id: str = resp.json()["id"]
    return project_id


def test_tools_are_one_per_kind_plus_the_fixed_ones_with_the_params_schemas(
    api_server: ApiProcess, api_key: str
) -> None:
    listed = run(mcp_url(api_server), bearer(api_key), lambda s: s.list_tools())
    tools = {tool.name: tool for tool in listed.tools}
    kinds = {spec.kind.value: spec for spec in available()}
    assert set(tools) == set(kinds) | FIXED
    for name, spec in kinds.items():
        schema = tools[name].input_schema
        own = spec.params.model_json_schema(by_alias=True)
        assert {k: v for k, v in schema["properties"].items() if k not in KIND_CALL_FIELDS} == (
            own["properties"]
        ), name
        assert set(own.get("required", [])) <= set(schema.get("required", [])), name
        assert tools[name].output_schema is not None
    assert tools["get_job"].annotations.read_only_hint is True
    assert tools["cancel_job"].annotations.destructive_hint is True
    assert tools["rollback_file"].annotations.read_only_hint is False
    assert set(tools) == set(catalog())


def test_a_script_written_with_wait_reports_progress_then_returns_the_finished_job(
    api_server: ApiProcess, worker: WorkerProcess, api_key: str
) -> None:
    project_id = new_project(api_server, api_key, "mcp-wait")
    seen: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    async def work(session: ClientSession) -> Any:
        args = {**SCRIPT, "project_id": project_id, "wait": True}
        return await session.call_tool("generate_script", args, progress_callback=progress)

    job = structured(run(mcp_url(api_server), bearer(api_key), work))
    assert job["state"] == "succeeded", job
    assert job["result"]["class_name"] == "PlayerMover"
    assert seen, "no progress notification arrived"
    assert all(total == 100.0 for _, total, _ in seen)
    assert [done for done, _, _ in seen] == sorted(done for done, _, _ in seen)


def test_read_file_and_rollback_agree_with_the_http_routes(
    api_server: ApiProcess, worker: WorkerProcess, api_key: str
) -> None:
    project_id = new_project(api_server, api_key, "mcp-files")
    path = "Assets/Scripts/PlayerMover.cs"
    file_url = f"{api_server.url}/v1/projects/{project_id}/files/{path}"

    async def work(session: ClientSession) -> dict[str, Any]:
        first = {**SCRIPT, "project_id": project_id, "wait": True}
        structured(await session.call_tool("generate_script", first))
        second = {**first, "prompt": "a player controller that moves, jumps and dashes"}
        structured(await session.call_tool("generate_script", second))
        read = structured(
            await session.call_tool("read_file", {"project_id": project_id, "path": path})
        )
        back = structured(
            await session.call_tool(
                "rollback_file", {"project_id": project_id, "path": path, "to_version": 1}
            )
        )
        diff = structured(
            await session.call_tool(
                "diff_versions",
                {"project_id": project_id, "path": path, "from_version": 1, "to_version": 2},
            )
        )
        uri = f"spark://projects/{project_id}/files/{path}"
        newest = await session.read_resource(uri)
        first = await session.read_resource(f"{uri}?version=1")
        templates = await session.list_resource_templates()
        return {
            "read": read,
            "back": back,
            "diff": diff,
            "resource": newest.contents[0].text,
            "resource_v1": first.contents[0].text,
            "templates": [t.uri_template for t in templates.resource_templates],
        }

    got = run(mcp_url(api_server), bearer(api_key), work)
    raw = httpx.get(file_url, headers={**bearer(api_key), "Accept": "application/octet-stream"})
    assert got["read"]["version"] == 2
    assert hashlib.sha256(got["read"]["content"].encode()).hexdigest() == got["read"]["sha256"]
    history = httpx.get(f"{file_url}/history", headers=bearer(api_key)).json()["items"]
    newest = max(history, key=lambda v: v["version"])
    assert got["back"]["version"] == newest["version"] == 3
    assert got["back"]["sha256"] == newest["sha256"] == raw.headers["etag"].strip('"')
    assert got["diff"]["diff"].startswith(f"--- a/{path}@1")
    # the file as a resource: the newest version (the rollback's), and version 1 by query
    assert (
        got["resource"].encode()
        == httpx.get(
            file_url, headers={**bearer(api_key), "Accept": "application/octet-stream"}
        ).content
    )
    v1 = httpx.get(
        file_url,
        params={"version": 1},
        headers={**bearer(api_key), "Accept": "application/octet-stream"},
    )
    assert got["resource_v1"].encode() == v1.content == got["resource"].encode()
    assert "spark://projects/{project_id}/files/{+path}{?version}" in got["templates"]


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UnityMcpServer]:
    """unity-mcp from PyPI with one Unity editor stand-in connected."""
    workdir = Path(tmp_path_factory.mktemp("mcp-editor"))
    server = UnityMcpServer(free_port()).start()
    stand_in = EditorStandIn(server.hub_url, workdir / "Game", "Game", uuid.uuid4().hex[:8])
    stand_in.write(SCENE, "%YAML 1.1\n")
    stand_in.start()
    yield server
    stand_in.stop()
    server.cleanup()


@pytest.mark.parametrize(("width", "height"), [(320, 200)])
def test_get_preview_returns_the_frame_as_an_image_of_the_asked_size(
    api_server: ApiProcess,
    worker: WorkerProcess,
    editor: UnityMcpServer,
    api_key: str,
    tmp_path: Path,
    width: int,
    height: int,
) -> None:
    body = {"name": "mcp-preview", "source_dir": str(tmp_path), "unity_mcp_url": editor.url}
    resp = httpx.post(f"{api_server.url}/v1/projects", json=body, headers=bearer(api_key))
    assert resp.status_code == 201, resp.text
    project_id = resp.json()["id"]

    async def work(session: ClientSession) -> Any:
        args = {"project_id": project_id, "width": width, "height": height, "wait": True}
        job = structured(await session.call_tool("render_preview", args))
        assert job["state"] == "succeeded", job
        return await session.call_tool("get_preview", {"job_id": job["id"]})

    result = run(mcp_url(api_server), bearer(api_key), work)
    assert not result.is_error, result.content
    (image,) = [c for c in result.content if c.type == "image"]
    frame = Image.open(io.BytesIO(base64.b64decode(image.data)))
    assert frame.size == (width, height)
    assert result.structured_content["width"] == width


def test_a_tool_calls_route_carries_the_mcp_requests_id(
    api_server: ApiProcess, api_key: str, db: Database
) -> None:
    """The job a tool submits keeps the request id SPARK gave the MCP request, so the
    worker's lines for it name the same id as the API's."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "generate_script", "arguments": {"prompt": "a coin that spins"}},
    }
    headers = {
        **bearer(api_key),
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
    }
    resp = httpx.post(mcp_url(api_server), json=body, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    job = resp.json()["result"]["structuredContent"]
    assert stored(db, job["id"]).request_id == resp.headers["x-request-id"]
