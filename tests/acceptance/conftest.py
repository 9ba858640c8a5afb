"""Acceptance fixtures: the HTTP API in-process, talking to the real services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.web.app import create_app
from tests.support.services import free_port
from tests.support.workers import ApiProcess


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An HTTP client for the API app (no server process needed)."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def api_server(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiProcess]:
    """`spark api` as operators run it, for the CLI's tests (one per test module)."""
    proc = ApiProcess(settings, Path(tmp_path_factory.mktemp("api")), free_port())
    proc.start()
    yield proc
    proc.stop()
