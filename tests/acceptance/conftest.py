"""Acceptance fixtures: the HTTP API in-process, talking to the real services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.web.app import create_app


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An HTTP client for the API app (no server process needed)."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c
