"""The worker's per-job statements: one round trip each, on a pooled connection.

A job's claim and its end are each one statement. Through an ORM session each also paid for
a unit of work, an isolation-level switch on checkout and checkin, and SQLAlchemy's result
processing: measured, that was most of a fast job's CPU in the worker. Here the statement
runs on a psycopg connection borrowed from the engine's own pool (no second pool per
process), in autocommit mode while borrowed; psycopg prepares it on the server after a few
runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.sql import Executable

from spark.db.engine import Database
from spark.db.errors import translated

_DIALECT = pg_psycopg.dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Compiled:
    """A Core statement as psycopg SQL, with the defaults of its bound parameters."""

    sql: str
    defaults: Mapping[str, Any]

    def bind(self, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The SQL and the complete parameters for one execution."""
        return self.sql, {**self.defaults, **params}


def compile_pg(stmt: Executable) -> Compiled:
    """stmt compiled once for psycopg (the hot statements are module constants)."""
    compiled = stmt.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
    return Compiled(str(compiled), dict(compiled.params))


@contextmanager
def connection(db: Database) -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection of db's primary in autocommit mode, given back on exit.

    A connection the driver finds broken (the database restarted) is dropped from the pool
    rather than given back; driver errors are translated (spark.db.errors).
    """
    with translated():
        fairy = db.engine.raw_connection()
        conn: psycopg.Connection[Any] = fairy.driver_connection  # type: ignore[assignment]
        try:
            conn.autocommit = True
            yield conn
        except psycopg.OperationalError as exc:
            fairy.invalidate(exc)
            raise
        finally:
            if not fairy.is_valid:
                pass  # invalidated above: the pool has already let it go
            elif conn.broken or conn.closed:
                fairy.invalidate()
            else:
                # the pool's other users (sessions) expect a transaction per checkout
                conn.autocommit = False
                fairy.close()


def fetch_one(db: Database, sql: str, params: Mapping[str, Any]) -> Any:
    """The first row sql returns (attribute access by column name), or None."""
    with connection(db) as conn:
        cur = conn.cursor(row_factory=namedtuple_row)
        cur.execute(sql, params)
        return cur.fetchone()


def fetch_all(db: Database, sql: str, params: Mapping[str, Any]) -> list[Any]:
    """Every row sql returns (attribute access by column name)."""
    with connection(db) as conn:
        cur = conn.cursor(row_factory=namedtuple_row)
        cur.execute(sql, params)
        return cur.fetchall()
