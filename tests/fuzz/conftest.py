"""Fuzz fixtures: a real `spark api` on the test database, and its OpenAPI document loaded
by schemathesis from the server itself."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis import BaseSchema

from spark.config import Settings, TierLimits
from spark.db.executor import Database
from spark.domain.principals import Permission, Tier
from spark.security.apikeys import create_key
from tests.support.services import free_port
from tests.support.workers import ApiProcess

#: rate limits out of reach, so a long run explores the routes rather than their 429s
#: (which the document lists and the limit tests show)
ROOMY = {
    tier: dict.fromkeys(TierLimits.model_fields, 10**9) for tier in ("free", "pro", "enterprise")
}


@pytest.fixture(scope="session")
def fuzz_server(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    """`spark api` as operators run it, over the suite's Postgres and Redis (no worker: jobs
    submitted by the fuzzer just wait, queued)."""
    env = {"SPARK_TIER_LIMITS": json.dumps(ROOMY)}
    proc = ApiProcess(settings, Path(tmp_path_factory.mktemp("fuzz-api")), free_port(), **env)
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def api_schema(fuzz_server: ApiProcess) -> BaseSchema:
    """The document as the server publishes it. Credentials are the tests' to send: left to
    itself, schemathesis would add a made-up Bearer token that shadows the real key."""
    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    schema.config.generation.update(with_security_parameters=False)
    # A body or head over SPARK's size limits is refused before it is read: 413 and 431 are
    # rejections of invalid data too (a string past its maxLength can make the body too big).
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413", "431"]
    return schema


@pytest.fixture
def fuzz_key(settings: Settings, db: Database) -> str:
    """A key holding every permission a caller can have but admin, for a user of its own.

    Made through a pool closed again before the fuzzing starts: a pool thread opening a
    connection draws from `random` (the connection's expiry jitter), which hypothesis, seeing
    the global random state move during a draw, reports as a strategy using `random`.
    """
    perms = {Permission.READ, Permission.GENERATE, Permission.BUILD}
    owner = Database(settings.require("database_url"), pool_size=1)
    try:
        return create_key(owner, f"fuzz-{uuid.uuid4().hex[:8]}", Tier.PRO, perms).token
    finally:
        owner.close()
