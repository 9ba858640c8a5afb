"""Hostile input through /mcp against a real `spark api`: arguments of the wrong types, unknown
tools, NUL bytes, arguments far past the body limit, resource URIs that climb out with `..`
(plain, percent-encoded, absolute) and other users' ids, sent through the official SDK client
and as raw JSON-RPC POSTs. Every answer is a tool error, a JSON-RPC error or a 4xx in a
documented shape: never a 5xx, never a traceback (in the answer or in the server's log), and
the API is healthy afterwards.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from spark.config import Settings
from spark.db.executor import Database
from spark.domain.principals import Permission, Tier
from spark.security.apikeys import create_key
from tests.support.mcp_client import bearer, run
from tests.support.workers import ApiProcess

#: what a streamable-HTTP client sends beside its credential (stateless: no session id)
MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-11-25",
}
#: what an unhandled exception leaves in the API's log
CRASH_MARKS = ("Traceback", "unhandled error", "Exception in ASGI application", "session crashed")
SCRIPT = {"prompt": "a coin that spins", "class_name": "Coin"}
TEN_MB = 10 * 1024 * 1024
#: a bad value refused by the tool's schema, or by the route's own validation behind it
REFUSALS = ("invalid_params", "validation_error", "not_found")


@pytest.fixture(scope="module")
def people(settings: Settings, fuzz_server: ApiProcess) -> dict[str, str]:
    """Two users: the caller with a project of its own, and another with a project and a
    queued job (no worker runs) whose ids the caller will try."""
    perms = {Permission.READ, Permission.GENERATE, Permission.BUILD}
    owner = Database(settings.require("database_url"), pool_size=1)
    try:
        tag = uuid.uuid4().hex[:8]
        caller = create_key(owner, f"mcp-fuzz-{tag}", Tier.PRO, perms).token
        other = create_key(owner, f"mcp-other-{tag}", Tier.PRO, perms).token
    finally:
        owner.close()
    with httpx.Client(base_url=fuzz_server.url, timeout=30) as http:
        mine = _created(http.post("/v1/projects", json={"name": "mine"}, headers=bearer(caller)))
        theirs = _created(http.post("/v1/projects", json={"name": "x"}, headers=bearer(other)))
        job = {"kind": "generate_script", "params": SCRIPT, "project_id": theirs}
        their_job = _created(http.post("/v1/jobs", json=job, headers=bearer(other)))
    return {"key": caller, "project": mine, "their_project": theirs, "their_job": their_job}


def _created(response: httpx.Response) -> str:
    assert response.status_code in (201, 202), response.text
    created: str = response.json()["id"]
    return created


@pytest.fixture(autouse=True)
def survives(fuzz_server: ApiProcess) -> Iterator[None]:
    """After each test: the API is healthy and logged no unhandled exception meanwhile."""
    start = len(fuzz_server.log())
    yield
    health = httpx.get(f"{fuzz_server.url}/v1/health", timeout=30)
    assert health.status_code == 200, health.text
    logged = fuzz_server.log()[start:]
    for mark in CRASH_MARKS:
        assert mark not in logged, logged[-3000:]


def _session(server: ApiProcess, key: str, work: Callable[[ClientSession], Awaitable[Any]]) -> Any:
    return run(f"{server.url}/mcp", bearer(key), work)


def _tool_error(result: Any) -> dict[str, Any]:
    """The API's error object a refused tool call carries."""
    assert result.is_error, result
    (block,) = result.content
    error: dict[str, Any] = json.loads(block.text)["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str), error
    assert "Traceback" not in block.text
    return error


def _calls(
    server: ApiProcess, key: str, calls: list[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Each call's error through one SDK session: a tool error's object, or a JSON-RPC
    error's code and message (as {"rpc": code, "message": ...})."""

    async def work(session: ClientSession) -> list[dict[str, Any]]:
        errors = []
        for name, arguments in calls:
            try:
                result = await session.call_tool(name, arguments)
            except MCPError as exc:
                errors.append({"rpc": exc.code, "message": exc.error.message})
                continue
            errors.append(_tool_error(result))
        return errors

    answers: list[dict[str, Any]] = _session(server, key, work)
    return answers


def _raw(server: ApiProcess, key: str, body: bytes | Any, **headers: str) -> httpx.Response:
    """One POST to /mcp as a client would send it, with body as given (bytes) or as JSON."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {**MCP_HEADERS, **bearer(key), **headers}
    return httpx.post(f"{server.url}/mcp", content=content, headers=sent, timeout=60)


def _rpc(method: str, params: Any, rid: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}


def _messages(response: httpx.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a 200 answer (an event stream, or one JSON object)."""
    if response.headers["content-type"].startswith("application/json"):
        return [response.json()]
    messages = []
    for block in response.text.replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].strip() for line in block.split("\n") if line.startswith("data:")]
        if any(data):
            messages.append(json.loads("\n".join(data)))
    return messages


def _refused(response: httpx.Response) -> dict[str, Any]:
    """A raw answer that refuses cleanly: a 4xx with an error object (SPARK's or JSON-RPC's),
    or a 200 whose one message is a JSON-RPC error or a tool error. Returns that error."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        error: dict[str, Any] = response.json()["error"]
        assert isinstance(error["message"], str), error
        return error
    (message,) = _messages(response)
    if "error" in message:
        assert isinstance(message["error"]["code"], int), message
        rpc: dict[str, Any] = message["error"]
        return rpc
    result = message["result"]
    assert result["isError"] is True, message
    tool: dict[str, Any] = json.loads(result["content"][0]["text"])["error"]
    return tool


def test_arguments_of_the_wrong_types_are_invalid_params_for_every_tool(
    fuzz_server: ApiProcess, people: dict[str, str]
) -> None:
    project = people["project"]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_job", {"job_id": 123}),
        ("get_job", {"job_id": None}),
        ("get_job", {"job_id": ["a", "b"]}),
        ("get_job", {}),
        ("get_job", {"job_id": "not-a-uuid", "extra": True}),
        ("cancel_job", {"job_id": True}),
        ("list_jobs", {"limit": "many"}),
        ("list_jobs", {"limit": -1}),
        ("list_jobs", {"state": {"$ne": "queued"}}),
        ("list_projects", {"limit": 1e300}),
        ("generate_script", {"prompt": 5, "class_name": "Coin"}),
        ("generate_script", {**SCRIPT, "priority": "high"}),
        ("generate_script", {**SCRIPT, "priority": 99}),
        ("generate_script", {**SCRIPT, "wait": "maybe"}),
        ("generate_script", {**SCRIPT, "session_id": {"a": 1}}),
        ("generate_script", {**SCRIPT, "project_id": 7}),
        ("read_file", {"project_id": 1, "path": ["Assets"]}),
        ("read_file", {"project_id": project, "path": "Assets/A.cs", "version": "two"}),
        ("diff_versions", {"project_id": project, "path": 3, "from_version": 1, "to_version": []}),
        ("rollback_file", {"project_id": project, "path": "Assets/A.cs", "to_version": "one"}),
        ("list_files", {"project_id": "../../etc"}),
        ("get_build_log", {"job_id": {"id": 1}}),
    ]
    errors = _calls(fuzz_server, people["key"], calls)
    for (name, arguments), error in zip(calls, errors, strict=True):
        assert error.get("code") == "invalid_params", (name, arguments, error)


def test_unknown_tools_are_tool_errors_naming_tools_list(
    fuzz_server: ApiProcess, people: dict[str, str]
) -> None:
    names = ["nope", "", "GET_JOB", "../get_job", "get_job ", "get_job\x00", "x" * 10_000]
    errors = _calls(fuzz_server, people["key"], [(name, {}) for name in names])
    for name, error in zip(names, errors, strict=True):
        assert error["code"] == "unknown_tool", (name, error)
        assert "tools/list" in error["message"]


def test_nul_in_strings_is_refused_not_stored(
    fuzz_server: ApiProcess, people: dict[str, str]
) -> None:
    project = people["project"]
    calls = [
        ("generate_script", {"prompt": "a coin\x00that spins", "class_name": "Coin"}),
        ("generate_script", {**SCRIPT, "class_name": "Co\x00in"}),
        ("generate_script", {**SCRIPT, "session_id": "s\x00"}),
        ("get_job", {"job_id": "\x00"}),
        ("list_jobs", {"session_id": "a\x00b"}),
        ("list_jobs", {"cursor": "\x00"}),
        ("list_projects", {"cursor": "\x00\x00"}),
        ("read_file", {"project_id": project, "path": "Assets/A\x00.cs"}),
        ("file_history", {"project_id": project, "path": "\x00"}),
    ]
    errors = _calls(fuzz_server, people["key"], calls)
    for (name, _), error in zip(calls, errors, strict=True):
        assert "rpc" in error or error["code"] in REFUSALS, (name, error)
    listed = httpx.get(
        f"{fuzz_server.url}/v1/jobs", headers=bearer(people["key"]), params={"limit": 100}
    )
    assert listed.status_code == 200, listed.text
    assert all("\x00" not in json.dumps(job["params"]) for job in listed.json()["items"])


def test_other_users_ids_are_not_found_for_the_caller(
    fuzz_server: ApiProcess, people: dict[str, str]
) -> None:
    job, project = people["their_job"], people["their_project"]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_job", {"job_id": job}),
        ("cancel_job", {"job_id": job}),
        ("get_build_log", {"job_id": job}),
        ("list_files", {"project_id": project}),
        ("read_file", {"project_id": project, "path": "Assets/Scripts/Coin.cs"}),
        ("file_history", {"project_id": project, "path": "Assets/Scripts/Coin.cs"}),
        ("rollback_file", {"project_id": project, "path": "Assets/A.cs", "to_version": 1}),
        ("generate_script", {**SCRIPT, "project_id": project}),
    ]
    for (name, _), error in zip(calls, _calls(fuzz_server, people["key"], calls), strict=True):
        assert error.get("code") in ("not_found", "forbidden"), (name, error)

    async def their_jobs(session: ClientSession) -> Any:
        return await session.call_tool("list_jobs", {"project_id": project})

    listed = _session(fuzz_server, people["key"], their_jobs)
    assert not listed.is_error and listed.structured_content["items"] == []


def test_resource_uris_that_leave_the_project_are_mcp_errors(
    fuzz_server: ApiProcess, people: dict[str, str]
) -> None:
    mine, theirs, job = people["project"], people["their_project"], people["their_job"]
    files = f"spark://projects/{mine}/files"
    uris = [
        f"{files}/../../../etc/passwd",
        f"{files}/Assets/../../{theirs}/files/A.cs",
        f"{files}/%2e%2e/%2e%2e/etc/passwd",
        f"{files}/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        f"{files}/%252e%252e/%252e%252e/etc/passwd",
        f"{files}//etc/passwd",
        f"{files}/%2Fetc%2Fpasswd",
        f"{files}/Assets/A%00.cs",
        f"{files}/Assets/A.cs?version=-1",
        f"{files}/Assets/A.cs?version=abc",
        f"{files}/" + "a" * 100_000,
        f"spark://projects/../jobs/{job}/log",
        f"spark://projects/{theirs}/files/Assets/Scripts/Coin.cs",
        f"spark://jobs/{job}/log",
        f"spark://jobs/{job}/../log",
        "spark://projects/not-a-uuid/files/A.cs",
        "file:///etc/passwd",
        "/etc/passwd",
        "",
    ]
    for uri in uris:
        error = _refused(_raw(fuzz_server, people["key"], _rpc("resources/read", {"uri": uri})))
        assert isinstance(error.get("code"), int), (uri, error)
        assert "root:" not in json.dumps(error)


def test_ten_megabyte_arguments_are_refused_by_the_body_limit(
    fuzz_server: ApiProcess, people: dict[str, str]
) -> None:
    huge = "a" * TEN_MB
    bodies = [
        _rpc("tools/call", {"name": "generate_script", "arguments": {**SCRIPT, "prompt": huge}}),
        _rpc("tools/call", {"name": huge, "arguments": {}}),
        _rpc("resources/read", {"uri": f"spark://projects/{people['project']}/files/{huge}"}),
    ]
    for body in bodies:
        response = _raw(fuzz_server, people["key"], body)
        assert response.status_code == 413, response.text[:300]
        assert response.json()["error"]["code"] == "payload_too_large"
    # under the body limit but past what a prompt may hold: the tool's own refusal
    big = {**SCRIPT, "prompt": "a" * 900_000}
    error = _refused(
        _raw(
            fuzz_server,
            people["key"],
            _rpc("tools/call", {"name": "generate_script", "arguments": big}),
        )
    )
    assert error.get("code") == "invalid_params", error


def test_malformed_json_rpc_is_a_json_rpc_error_or_a_4xx(
    fuzz_server: ApiProcess, people: dict[str, str]
) -> None:
    key = people["key"]
    bodies: list[bytes | Any] = [
        b"{not json",
        b"\x00\x01\x02",
        b"",
        b"[]",
        [_rpc("tools/call", {"name": "get_job", "arguments": {}})],
        {"jsonrpc": "1.0", "id": 1, "method": "tools/call", "params": {}},
        _rpc("tools/call", ["get_job"]),
        _rpc("tools/call", {"name": "get_job", "arguments": ["job"]}),
        _rpc("tools/call", {"name": 5, "arguments": {}}),
        _rpc("tools/call", {"arguments": {}}),
        _rpc("tools/call", None),
        _rpc("no/such/method", {}),
        _rpc("resources/read", {"uri": 5}),
        _rpc("resources/read", {}),
    ]
    for body in bodies:
        _refused(_raw(fuzz_server, key, body))
    # What is not a request (an id JSON-RPC does not allow makes it a notification to the
    # SDK, and a client's result answers nothing) is accepted with no answer: nothing runs.
    ignored = [
        _rpc("tools/call", {"name": "cancel_job", "arguments": {}}, rid={"x": 1}),
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}},
        {"jsonrpc": "2.0", "id": 1, "result": {"x": "\x00"}},
    ]
    for body in ignored:
        response = _raw(fuzz_server, key, body)
        assert (response.status_code, response.content) == (202, b""), response.text
    for headers in ({"Accept": "text/html"}, {"Content-Type": "text/plain"}):
        response = _raw(fuzz_server, key, _rpc("tools/list", {}), **headers)
        assert 400 <= response.status_code < 500, response.text
        assert "Traceback" not in response.text
