"""The Alembic history matches the models and unwinds cleanly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from spark.db import migrate
from tests.support.databases import fresh_database


@pytest.fixture
def empty_pg() -> Iterator[str]:
    with fresh_database("spark_mig") as url:
        yield url


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def upgrade_check_downgrade(url: str) -> None:
    migrate.upgrade(url)
    assert {"jobs", "job_outbox", "api_keys", "spark_events", "event_outbox"} <= tables(url)
    command.check(migrate.alembic_config(url))  # raises if the models drifted from migrations
    migrate.downgrade(url, "base")
    assert tables(url) == set()


def test_migrations_match_models_on_postgres(empty_pg: str) -> None:
    """upgrade head, then check finds no drift, then downgrade base leaves nothing."""
    upgrade_check_downgrade(empty_pg)
