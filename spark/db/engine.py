"""Engines and sessions for the primary and the optional read replica."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from spark.db.errors import translated
from spark.db.replica import LAG, REPLICA_CONNECT_TIMEOUT_S, ReplicaStanding


def _make_engine(url: str, *, pool_size: int, replica: bool = False) -> Engine:
    """A pooled engine on a PostgreSQL server; ValueError for a URL of another database."""
    backend = make_url(url).get_backend_name()
    if backend != "postgresql":
        # Refused at start-up rather than at the first statement only Postgres understands.
        raise ValueError(f"SPARK needs PostgreSQL; the URL given is for {backend}")
    # No pre-ping on the primary: it costs a round trip per transaction, and a connection
    # broken by a restart fails its one statement (503, or a task retry) before the pool is
    # refreshed. A replica's reads can go to the primary instead, but only if its failure
    # shows before the first query: pre-ping at checkout, and a short connect timeout.
    extra = (
        {"pool_pre_ping": True, "connect_args": {"connect_timeout": REPLICA_CONNECT_TIMEOUT_S}}
        if replica
        else {}
    )
    return create_engine(
        url, pool_size=pool_size, max_overflow=pool_size * 2, pool_recycle=1800, **extra
    )


class Database:
    """The primary and replica engines, and sessions that translate driver errors."""

    def __init__(self, url: str, replica_url: str | None = None, *, pool_size: int = 10) -> None:
        self.url = url
        self.replica_url = replica_url
        self.engine = _make_engine(url, pool_size=pool_size)
        self.replica = (
            _make_engine(replica_url, pool_size=pool_size, replica=True) if replica_url else None
        )
        #: shared with the async pools: a replica that failed is skipped by both for a while
        self.standing = ReplicaStanding()
        self._primary = sessionmaker(self.engine, expire_on_commit=False)
        self._autocommit = sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
        self._reader = sessionmaker(self.replica, expire_on_commit=False) if self.replica else None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction on the primary: committed on exit, rolled back on error."""
        with translated(), self._primary.begin() as session:
            yield session

    @contextmanager
    def statement(self) -> Iterator[Session]:
        """A session for one self-contained statement, in autocommit mode.

        A single UPDATE or INSERT is atomic on its own; skipping BEGIN and COMMIT saves two
        round trips on every claim, progress write and finish.
        """
        with translated(), self._autocommit() as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only transaction on the replica if there is one and it answers, else the
        primary."""
        session = self._replica_session() or self._primary()
        with translated(), session:
            yield session
            session.commit()

    def _replica_session(self) -> Session | None:
        """A session already connected to the replica, or None (none, backing off, or down)."""
        if self._reader is None or not self.standing.usable():
            return None
        session = self._reader()
        try:
            session.connection()
        except OperationalError as exc:
            session.close()
            self.standing.failed(exc.orig or exc)
            return None
        return session

    def ping(self) -> None:
        """Run a trivial query; raises ServiceUnavailable if the database is away."""
        with self.session() as s:
            s.execute(text("SELECT 1"))

    def replica_lag(self) -> float:
        """Seconds the replica's replay is behind the primary; ServiceUnavailable if it is away."""
        assert self.replica is not None, "no replica is configured"
        with translated(), self.replica.connect() as conn:
            return float(conn.execute(LAG).scalar_one())

    def dispose(self) -> None:
        """Drop pooled connections (after fork, or at shutdown)."""
        self.engine.dispose()
        if self.replica is not None:
            self.replica.dispose()
