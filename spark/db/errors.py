"""Driver errors as SPARK's errors: the one place psycopg's (and SQLAlchemy's wrappers of
them) are translated, for every way to the database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.exc import DBAPIError, OperationalError

from spark.errors import ServiceUnavailable

log = logging.getLogger(__name__)


class UniqueViolation(Exception):
    """A unique constraint refused a row; constraint names the constraint."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(constraint)
        self.constraint = constraint


@contextmanager
def translated() -> Iterator[None]:
    """Raise driver errors from the block as SPARK's errors; the original stays on __cause__.

    A plain context manager serves the async face too: its __exit__ runs when an awaited
    statement inside the block raises.
    """
    try:
        yield
    except (psycopg.Error, DBAPIError) as exc:
        found = translation(exc)
        if found is None:
            raise
        raise found from exc


def translation(exc: BaseException) -> Exception | None:
    """SPARK's error for a driver error (None when it has no translation).

    A refused or broken connection, and a pool that had none to give in time
    (psycopg_pool.PoolTimeout is an OperationalError), all mean the database is away.
    """
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    if isinstance(orig, (psycopg.OperationalError, OperationalError)):
        log.warning("database unavailable: %s", orig)
        return ServiceUnavailable("the database is unavailable")
    if isinstance(orig, psycopg.errors.UniqueViolation):
        return UniqueViolation(orig.diag.constraint_name)
    return None
