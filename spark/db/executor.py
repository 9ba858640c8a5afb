"""The one way to the database: SPARK's statements (SQLAlchemy Core or text, written once in
their db module) compiled to psycopg SQL and run on psycopg pools, primary and replica.

Two faces run the same statement objects under the same method names: this module's
Database (sync; workers, the CLI, and the API's service functions in their threads) and
spark.db.aio's AsyncDatabase (the API's hot paths, without a thread hop). `transaction()`
and `read()` yield a transaction whose `one/all/scalar/run` each run a statement; the
database's own `one/all/scalar/run` run one statement on its own in autocommit mode (one
round trip: no BEGIN, no COMMIT). Driver errors are translated by spark.db.errors, here only.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast

import psycopg
from psycopg.types.json import JsonbDumper
from psycopg_pool import ConnectionPool
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from spark.db.errors import translated
from spark.db.replica import (
    LAG,
    REPLICA_CHECKOUT_TIMEOUT_S,
    REPLICA_CONNECT_TIMEOUT_S,
    ReplicaStanding,
)

_DIALECT = pg_psycopg.dialect()  # type: ignore[no-untyped-call]

#: how long a caller waits for a pooled connection before it is told to come back (503)
CHECKOUT_TIMEOUT_S = 5.0
#: a pool gives up a failing connection attempt after this long, and the next caller starts
#: a fresh one: a database back after an outage is found at once, not after a long backoff
RECONNECT_TIMEOUT_S = 5.0
#: connections are replaced after this long (the server's memory, a moved replica)
MAX_LIFETIME_S = 1800.0
#: every connection's options: UTC like spark.db.types.UTCDateTime, whatever the server's
#: TimeZone, and autocommit (a transaction is asked for explicitly)
CONNECTION_OPTIONS: Mapping[str, Any] = {"autocommit": True, "options": "-c TimeZone=UTC"}
#: a dead replica is found by a refused or timed-out connect, not by a stalled read
REPLICA_OPTIONS: Mapping[str, Any] = {"connect_timeout": REPLICA_CONNECT_TIMEOUT_S}

_SELECT_ONE = text("SELECT 1")
#: server-side cursors' names, unique within a process
_cursor_numbers = itertools.count()

Params = Mapping[str, Any] | None


@dataclass(frozen=True)
class Sql:
    """A statement as psycopg runs it: its SQL, its bound parameters' defaults, and the bind
    processors of their types (JSON documents, UTC timestamps)."""

    text: str
    defaults: Mapping[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]

    def bind(self, params: Params) -> tuple[str, dict[str, Any]]:
        """The SQL and the complete parameters for one execution."""
        values = {**self.defaults, **(params or {})}
        for name, process in self.processors.items():
            values[name] = process(values[name])
        return self.text, values


Statement = Executable | Sql


def compiled(stmt: Executable) -> Sql:
    """stmt as psycopg SQL; a module-constant statement is compiled once, at import."""
    done = _compile(stmt, {})
    if "POSTCOMPILE" in str(done):
        # An IN list of a statement built per call: one parameter per value. (A constant
        # statement takes an array instead: = ANY(:keys).)
        done = _compile(stmt, {"render_postcompile": True})
    if done.insert_prefetch or done.update_prefetch:
        # SQLAlchemy computes a column's Python-side default while executing; here nothing
        # would, and the column would be NULL
        missing = ", ".join(c.name for c in (*done.insert_prefetch, *done.update_prefetch))
        raise ValueError(f"the statement leaves columns to their Python defaults: {missing}")
    # the dialect's own processors, as SQLAlchemy applies them (no tuple parameters here)
    processors = {name: p for name, p in done._bind_processors.items() if callable(p)}
    return Sql(str(done), dict(done.params), processors)


def _compile(stmt: Executable, options: dict[str, Any]) -> SQLCompiler:
    element = cast(ClauseElement, stmt)
    return cast(SQLCompiler, element.compile(dialect=_DIALECT, compile_kwargs=options))


def bound(stmt: Statement, params: Params) -> tuple[str, dict[str, Any]]:
    """The SQL and the parameters of one execution of stmt (compiled now unless it is Sql)."""
    # always a dict, even empty: psycopg turns the compiler's %% back into % only then
    return (stmt if isinstance(stmt, Sql) else compiled(stmt)).bind(params)


@functools.lru_cache(maxsize=1024)
def _row_type(names: tuple[str, ...]) -> type[Any]:
    # rename: an unnamed column (?column?) or a name twice still makes a row
    return namedtuple("Row", names, rename=True)


def rows(cursor: psycopg.Cursor[Any] | psycopg.AsyncCursor[Any]) -> Callable[[Sequence[Any]], Any]:
    """psycopg's row factory for SPARK: rows with attribute access by column name."""
    made = _row_type(tuple(column.name for column in cursor.description or ()))
    return cast(Callable[[Sequence[Any]], Any], made._make)


def conninfo(url: str) -> str:
    """libpq's connection string for a SQLAlchemy-style URL; ValueError for another database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        # Refused at start-up rather than at the first statement only Postgres understands.
        raise ValueError(
            f"SPARK needs PostgreSQL; the URL given is for {parsed.get_backend_name()}"
        )
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def configure(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
    """Adapt SPARK's values on a new connection: a dict binds as JSONB, like a JsonDoc column."""
    conn.adapters.register_dumper(dict, JsonbDumper)


class Executor(Protocol):
    """What runs SPARK's statements: a Database (each on its own) or a Transaction."""

    def one(self, stmt: Statement, params: Params = None) -> Any:
        """The first row stmt returns (attribute access by column name), or None."""
        ...

    def all(self, stmt: Statement, params: Params = None) -> list[Any]:
        """Every row stmt returns."""
        ...

    def scalar(self, stmt: Statement, params: Params = None) -> Any:
        """The first column of the first row stmt returns, or None."""
        ...

    def run(self, stmt: Statement, params: Params = None) -> int:
        """Execute stmt; the rows it touched."""
        ...


class Transaction:
    """Statements on one connection: a transaction's (db.transaction(), db.read()), or each
    committed on its own (db.autocommit())."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def one(self, stmt: Statement, params: Params = None) -> Any:
        """The first row stmt returns (attribute access by column name), or None."""
        return self._execute(stmt, params).fetchone()

    def all(self, stmt: Statement, params: Params = None) -> list[Any]:
        """Every row stmt returns."""
        return self._execute(stmt, params).fetchall()

    def scalar(self, stmt: Statement, params: Params = None) -> Any:
        """The first column of the first row stmt returns, or None."""
        row = self.one(stmt, params)
        return None if row is None else row[0]

    def run(self, stmt: Statement, params: Params = None) -> int:
        """Execute stmt; the rows it touched."""
        return self._execute(stmt, params).rowcount

    def stream(self, stmt: Statement, params: Params = None, *, size: int = 200) -> Iterator[Any]:
        """Every row stmt returns, fetched size at a time by a server-side cursor (inside a
        transaction: an export or a build's files never have to fit in memory at once)."""
        sql, values = bound(stmt, params)
        name = f"spark_stream_{next(_cursor_numbers)}"
        with translated(), self._conn.cursor(name, row_factory=rows) as cur:
            cur.itersize = size
            cur.execute(sql, values)
            yield from cur

    def copy_in(self, copy: str, types: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Send rows to `COPY … FROM STDIN (FORMAT BINARY)` (types: its columns' types)."""
        with translated(), self._conn.cursor() as cur, cur.copy(copy) as stream:
            stream.set_types(list(types))
            for row in rows:
                stream.write_row(row)

    def _execute(self, stmt: Statement, params: Params) -> psycopg.Cursor[Any]:
        cur = self._conn.cursor(row_factory=rows)
        with translated():
            # psycopg prepares a statement on the server once it has run a few times
            cur.execute(*bound(stmt, params))
        return cur


@dataclass(frozen=True)
class _Pools:
    """Pools of the process that opened them (a forked child opens its own)."""

    pid: int
    primary: ConnectionPool[psycopg.Connection[Any]]
    replica: ConnectionPool[psycopg.Connection[Any]] | None


class Database:
    """The sync face: pools on the primary and the optional read replica."""

    def __init__(self, url: str, replica_url: str | None = None, *, pool_size: int = 10) -> None:
        self.url, self.replica_url = url, replica_url
        self._conninfo = conninfo(url)
        self._replica_conninfo = conninfo(replica_url) if replica_url else None
        #: shared with the async face: a replica that failed is skipped by both for a while
        self.standing = ReplicaStanding()
        self._pool_size = pool_size
        self._pools: _Pools | None = None
        self._lock = threading.Lock()
        self._sweeping = threading.Event()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """A transaction on the primary: committed on exit, rolled back on error."""
        with self._connection() as conn, translated(), conn.transaction():
            yield Transaction(conn)

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        """A transaction for reads, on the replica if there is one and it answers, else the
        primary."""
        with self._reader() as conn, translated(), conn.transaction():
            yield Transaction(conn)

    @contextmanager
    def autocommit(self) -> Iterator[Transaction]:
        """One connection of the primary whose statements each commit on their own (what
        holds a session-level lock)."""
        with self._connection() as conn:
            yield Transaction(conn)

    def one(self, stmt: Statement, params: Params = None) -> Any:
        """The first row stmt returns (attribute access by column name), or None."""
        with self.autocommit() as tx:
            return tx.one(stmt, params)

    def all(self, stmt: Statement, params: Params = None) -> list[Any]:
        """Every row stmt returns."""
        with self.autocommit() as tx:
            return tx.all(stmt, params)

    def scalar(self, stmt: Statement, params: Params = None) -> Any:
        """The first column of the first row stmt returns, or None."""
        with self.autocommit() as tx:
            return tx.scalar(stmt, params)

    def run(self, stmt: Statement, params: Params = None) -> int:
        """Execute stmt on its own; the rows it touched."""
        with self.autocommit() as tx:
            return tx.run(stmt, params)

    def ping(self) -> None:
        """Run a trivial query; raises ServiceUnavailable if the database is away."""
        self.scalar(_SELECT_ONE)

    def replica_lag(self) -> float:
        """Seconds the replica's replay is behind the primary; ServiceUnavailable if it is away."""
        replica = self._open().replica
        assert replica is not None, "no replica is configured"
        with translated(), replica.connection(timeout=REPLICA_CHECKOUT_TIMEOUT_S) as conn:
            return float(Transaction(conn).scalar(LAG))

    def close(self) -> None:
        """Close the pools (at shutdown; a forked child opens its own on first use)."""
        with self._lock:
            pools, self._pools = self._pools, None
        if pools is not None and pools.pid == os.getpid():
            pools.primary.close()
            if pools.replica is not None:
                pools.replica.close()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        primary = self._open().primary
        with translated(), primary.connection(timeout=CHECKOUT_TIMEOUT_S) as conn:
            try:
                yield conn
            finally:
                if conn.broken:
                    self._sweep(primary)

    @contextmanager
    def _reader(self) -> Iterator[psycopg.Connection[Any]]:
        """A replica connection that answered its check, or else one of the primary (a dead
        replica is then left alone for a while: see ReplicaStanding)."""
        replica = self._open().replica
        if replica is not None and self.standing.usable():
            try:
                conn = replica.getconn(timeout=REPLICA_CHECKOUT_TIMEOUT_S)
            except psycopg.OperationalError as exc:  # PoolTimeout is one too
                self.standing.failed(exc)
            else:
                try:
                    yield conn
                finally:
                    replica.putconn(conn)
                return
        with self._connection() as conn:
            yield conn

    def _sweep(self, pool: ConnectionPool[psycopg.Connection[Any]]) -> None:
        """Check the pool's idle connections in the background after one was found broken
        (the server restarted): the others are most likely broken too."""
        if self._sweeping.is_set():
            return
        self._sweeping.set()

        def check() -> None:
            try:
                pool.check()
            finally:
                self._sweeping.clear()

        threading.Thread(target=check, name="spark-db-sweep", daemon=True).start()

    def _open(self) -> _Pools:
        pools = self._pools
        if pools is not None and pools.pid == os.getpid():
            return pools
        with self._lock:
            if self._pools is None or self._pools.pid != os.getpid():
                # A parent's pools are left alone: closing them here would close its sockets.
                replica = self._replica_conninfo
                self._pools = _Pools(
                    os.getpid(),
                    self._pool(self._conninfo, {}),
                    self._pool(replica, REPLICA_OPTIONS) if replica else None,
                )
            return self._pools

    def _pool(self, info: str, extra: Mapping[str, Any]) -> ConnectionPool[psycopg.Connection[Any]]:
        # A replica's connections are checked at checkout, so its failure shows before the
        # first query and the read goes to the primary. The primary's are not (a round trip
        # per transaction): a connection broken by a restart fails its one statement (503,
        # or a task retry), and the pool is swept.
        return ConnectionPool(
            info,
            min_size=1,
            # room for bursts: the pool size and twice that more, as before
            max_size=self._pool_size * 3,
            kwargs={**CONNECTION_OPTIONS, **extra},
            configure=configure,
            check=ConnectionPool.check_connection if extra else None,
            reconnect_timeout=RECONNECT_TIMEOUT_S,
            max_lifetime=MAX_LIFETIME_S,
            open=True,
        )
