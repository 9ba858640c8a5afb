"""Permissions, rate limits, quotas and tenant isolation as a client of real API processes sees them."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from spark.config import Settings
from spark.db import audit as audit_queries
from spark.db.executor import Database
from spark.domain.principals import Permission, Tier
from spark.security.apikeys import create_key, revoke_key
from tests.support.jobs import auth
from tests.support.services import free_port
from tests.support.workers import ApiProcess

#: reads limited to 60 a minute for the free tier, so 200 GETs show the limit
TIER_LIMITS = json.dumps({"free": {"reads_per_minute": 60}})


@pytest.fixture(scope="module")
def two_apis(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two `spark api` processes on one database and one Redis (the suite's, whose limits
    every test leaves empty)."""
    workdir = tmp_path_factory.mktemp("apis")
    env = {"SPARK_TIER_LIMITS": TIER_LIMITS}
    apis = [ApiProcess(settings, workdir, free_port(), **env) for _ in range(2)]
    for api in apis:
        api.start()
    yield [api.url for api in apis]
    for api in apis:
        api.stop()


async def _burst(urls: list[str], key: str, count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30) as client:
        calls = [
            client.get(f"{urls[i % len(urls)]}/v1/jobs", headers=auth(key)) for i in range(count)
        ]
        return await asyncio.gather(*calls)


def test_a_rate_limit_holds_exactly_across_two_api_processes(
    two_apis: list[str], db: Database
) -> None:
    """200 concurrent reads from one user at 60/minute: 60 admitted, 140 refused with headers;
    another user is unaffected."""
    key = create_key(db, "burst-user", Tier.FREE, {Permission.READ}).token
    other = create_key(db, "calm-user", Tier.FREE, {Permission.READ}).token
    responses = asyncio.run(_burst(two_apis, key, 200))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 60, 429: 140}
    admitted = [r for r in responses if r.status_code == 200]
    assert sorted(int(r.headers["RateLimit-Remaining"]) for r in admitted) == list(range(60))
    for refused in (r for r in responses if r.status_code == 429):
        assert refused.json()["error"]["code"] == "rate_limited"
        assert refused.headers["RateLimit-Limit"] == "60"
        assert refused.headers["RateLimit-Remaining"] == "0"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert 0 <= int(refused.headers["RateLimit-Reset"]) <= 60
    calm = asyncio.run(_burst(two_apis, other, 5))
    assert [r.status_code for r in calm] == [200] * 5
    assert sorted(int(r.headers["RateLimit-Remaining"]) for r in calm) == [55, 56, 57, 58, 59]


def test_key_creation_and_revocation_are_audited_without_the_secret(db: Database) -> None:
    """Both land in audit_log with the key id, the user and the tier; never the key itself."""
    minted = create_key(db, "auditee", Tier.PRO, {Permission.READ})
    assert revoke_key(db, minted.record.key_id)
    assert not revoke_key(db, minted.record.key_id)
    with db.transaction() as tx:
        entries = audit_queries.entries(tx, audit_queries.AuditFilters(actor="auditee"))
    assert [e.action for e in entries] == ["key.revoked", "key.created"]
    assert {e.key_id for e in entries} == {minted.record.key_id}
    assert entries[1].details == {"tier": "pro", "permissions": ["spark:read"]}
    assert minted.token.split("_")[-1] not in json.dumps([e.details for e in entries])
