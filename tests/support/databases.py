"""Throwaway Postgres databases on the suite's server, one per test run, module or test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from tests.support.services import suite_stack


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """The SQLAlchemy URL of a new empty database, dropped (connections and all) on exit."""
    admin = suite_stack().admin_url
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
