"""Chaos fixtures: a key no tier ceiling slows, the API in-process, and SPARK's default timing
(the tier proves recovery within the bounds operators get, not within test-tuned ones)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from spark.domain.principals import DEFAULT_PERMISSIONS, Tier
from spark.security.apikeys import create_key
from spark.web.app import create_app

#: the job timing settings as an operator who sets nothing has them
TIMING = ("heartbeat_interval_s", "lease_s", "relay_interval_s", "relay_min_age_s")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An HTTP client for the API app (no server process needed)."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def api_key(db: Database) -> str:
    """A key for user 'alice' on the enterprise tier, so hundreds of jobs go in at once."""
    return create_key(db, "alice", Tier.ENTERPRISE, DEFAULT_PERMISSIONS).token


@pytest.fixture
def default_timing(settings: Settings) -> Settings:
    """settings with the heartbeat, lease, relay and reaper timing left at their defaults."""
    fields = Settings.model_fields
    names = (*TIMING, "reaper_interval_s", "rescue_after_s")
    return settings.model_copy(update={name: fields[name].default for name in names})
