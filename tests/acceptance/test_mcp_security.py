"""The MCP endpoint refuses exactly as the HTTP API does, because each tool call is a request
to the public route: a missing permission, another user's job, a burst past the tier's rate,
each an MCP tool error with the API's code, nothing queued, and audited as on HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from mcp.client.session import ClientSession

from spark.db.executor import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Permission, Tier
from spark.security.apikeys import create_key
from tests.support.mcp_client import bearer, run, structured
from tests.support.workers import ApiProcess

SCRIPT = {"prompt": "a door that opens when the player is near", "class_name": "Door"}


def error_of(result: Any) -> dict[str, Any]:
    """The API's error body a refused tool call carries."""
    assert result.is_error, result.content
    body: dict[str, Any] = json.loads(result.content[0].text)["error"]
    return body


def fresh_key(db: Database, tier: Tier, permissions: frozenset[Permission]) -> tuple[str, str]:
    user = f"mcp-{uuid.uuid4().hex[:8]}"
    return user, create_key(db, user, tier, set(permissions)).token


def test_a_key_without_build_gets_an_error_naming_the_permission_and_nothing_is_queued(
    api_server: ApiProcess, db: Database
) -> None:
    user, key = fresh_key(db, Tier.PRO, frozenset({Permission.READ, Permission.GENERATE}))
    created = httpx.post(f"{api_server.url}/v1/projects", json={"name": "p"}, headers=bearer(key))
    assert created.status_code == 201, created.text
    admin = create_key(db, f"admin-{uuid.uuid4().hex[:6]}", Tier.PRO, {Permission.ADMIN}).token

    async def work(session: ClientSession) -> tuple[Any, Any]:
        args = {"project_id": created.json()["id"], "target": "WebGL"}
        refused = await session.call_tool("unity_build", args)
        jobs = await session.call_tool("list_jobs", {})
        return refused, jobs

    refused, jobs = run(f"{api_server.url}/mcp", bearer(key), work)
    error = error_of(refused)
    assert error["code"] == "forbidden"
    assert "spark:build" in error["message"]
    assert structured(jobs)["items"] == []
    audit = httpx.get(
        f"{api_server.url}/v1/audit",
        params={"user": user, "action": "permission.denied"},
        headers=bearer(admin),
    )
    assert audit.status_code == 200, audit.text
    assert [e["target"] for e in audit.json()["items"]] == ["POST /v1/jobs"]


def test_another_users_job_is_not_found(api_server: ApiProcess, db: Database, api_key: str) -> None:
    body = {"kind": "generate_script", "params": SCRIPT}
    theirs = httpx.post(f"{api_server.url}/v1/jobs", json=body, headers=bearer(api_key))
    assert theirs.status_code == 202
    _, mine = fresh_key(db, Tier.PRO, DEFAULT_PERMISSIONS)

    async def work(session: ClientSession) -> list[Any]:
        job_id = theirs.json()["id"]
        return [
            await session.call_tool("get_job", {"job_id": job_id}),
            await session.call_tool("cancel_job", {"job_id": job_id}),
            await session.call_tool("get_build_log", {"job_id": job_id}),
        ]

    for result in run(f"{api_server.url}/mcp", bearer(mine), work):
        assert error_of(result)["code"] == "not_found"


def test_a_free_key_bursting_past_its_rate_gets_the_rate_limit_error_with_its_retry_time(
    api_server: ApiProcess, db: Database
) -> None:
    _, key = fresh_key(db, Tier.FREE, DEFAULT_PERMISSIONS)

    async def work(session: ClientSession) -> list[Any]:
        results = []
        for _ in range(70):  # the free tier submits 60 a minute
            result = await session.call_tool("generate_script", SCRIPT)
            results.append(result)
            if result.is_error:
                break
        return results

    results = run(f"{api_server.url}/mcp", bearer(key), work)
    assert all(not r.is_error for r in results[:-1]) and len(results) == 61
    error = error_of(results[-1])
    assert error["code"] == "rate_limited"
    assert 0 < error["details"]["retry_after_s"] <= 60
