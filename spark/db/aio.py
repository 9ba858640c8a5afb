"""The API's way to the database without a thread hop: psycopg's async pool.

A request served by the sync engine pays a thread-pool hop, an ORM session and BEGIN/COMMIT
around one SELECT; measured under load that was most of a poll's CPU. The API's hot
statements are SQLAlchemy Core, written once in their db module, compiled once to SQL text
and run here on an autocommit psycopg connection (one round trip).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from anyio.to_thread import run_sync as run_in_threadpool
from psycopg.rows import namedtuple_row
from psycopg.types.json import JsonbDumper
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.engine import make_url
from sqlalchemy.sql import Executable

from spark.batching import TurnBatcher
from spark.db.direct import Compiled, compile_pg
from spark.db.engine import Database
from spark.db.errors import translated
from spark.db.replica import REPLICA_CHECKOUT_TIMEOUT_S, REPLICA_CONNECT_TIMEOUT_S

log = logging.getLogger(__name__)

T = TypeVar("T")

#: how long a request waits for a pooled connection before it is told to come back (503)
CHECKOUT_TIMEOUT_S = 3.0

#: a dead replica is found by a refused or timed-out connect, not by a stalled poll
REPLICA_CONNECT_OPTIONS = {"connect_timeout": REPLICA_CONNECT_TIMEOUT_S}

_compiled: dict[int, tuple[Executable, Compiled]] = {}
_Sql = tuple[str, dict[str, Any]]
_Fetch = Callable[[psycopg.AsyncConnection[Any], _Sql], Awaitable[Any]]


async def _fetchone(conn: psycopg.AsyncConnection[Any], sql: _Sql) -> Any:
    cur = conn.cursor(row_factory=namedtuple_row)
    await cur.execute(*sql)
    return await cur.fetchone()


async def _fetchall(conn: psycopg.AsyncConnection[Any], sql: _Sql) -> list[Any]:
    cur = conn.cursor(row_factory=namedtuple_row)
    await cur.execute(*sql)
    return await cur.fetchall()


def _compile(stmt: Executable) -> Compiled:
    """stmt as psycopg SQL, compiled once (statements are module constants)."""
    found = _compiled.get(id(stmt))
    if found is None or found[0] is not stmt:
        found = _compiled[id(stmt)] = (stmt, compile_pg(stmt))
    return found[1]


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    # dicts bind as JSONB, like the sync engine's JsonDoc columns
    conn.adapters.register_dumper(dict, JsonbDumper)


@dataclass(frozen=True)
class _Pools:
    """Pools bound to the process and event loop that opened them."""

    pid: int
    loop: asyncio.AbstractEventLoop
    primary: AsyncConnectionPool[Any]
    replica: AsyncConnectionPool[Any] | None


class AsyncDatabase:
    """Runs Core statements for the API on async psycopg pools (primary and replica)."""

    def __init__(self, db: Database, *, pool_size: int = 10) -> None:
        self.db = db
        self._pool_size = pool_size
        self._pools: _Pools | None = None
        self._batchers: dict[str, TurnBatcher[Any, Any]] = {}

    async def one(
        self, stmt: Executable, params: Mapping[str, Any], *, replica: bool = False
    ) -> Any:
        """The first row stmt returns (attribute access by column name), or None."""
        return await self._read(self._bind(stmt, params), replica, _fetchone)

    async def by_key(
        self, many: Executable, column: str, key: Any, *, replica: bool = False
    ) -> Any:
        """The row whose column equals key, or None; lookups made in the same turn of the event
        loop share one query (many takes the array `keys`)."""
        # Thirty-two clients polling at once would otherwise take thirty-two pooled
        # connections and round trips; gathered, they cost one `WHERE key = ANY(...)`.
        answer = functools.partial(self._rows_by_key, many, column, replica)
        return await self.batcher(f"by-key {id(many)} {column} {replica}", answer).call(key)

    async def _rows_by_key(
        self, many: Executable, column: str, replica: bool, keys: list[Hashable]
    ) -> list[Any]:
        unique = list(dict.fromkeys(keys))
        rows = await self.all(many, {"keys": unique}, replica=replica)
        found = {getattr(row, column): row for row in rows}
        return [found.get(key) for key in keys]

    def batcher(
        self, name: str, answer: Callable[[list[Any]], Awaitable[list[Any]]]
    ) -> TurnBatcher[Any, Any]:
        """This database's TurnBatcher called name (made with answer the first time)."""
        found = self._batchers.get(name)
        if found is None:
            found = self._batchers[name] = TurnBatcher(answer)
        return found

    async def all(
        self, stmt: Executable, params: Mapping[str, Any], *, replica: bool = False
    ) -> list[Any]:
        """Every row stmt returns."""
        rows: list[Any] = await self._read(self._bind(stmt, params), replica, _fetchall)
        return rows

    async def _read(self, sql: _Sql, replica: bool, fetch: _Fetch) -> Any:
        """fetch's answer to sql: from the replica when asked for and it answers, else the
        primary (a dead replica is then left alone for a while: see ReplicaStanding)."""
        pools = await self._open()
        if replica and pools.replica is not None and self.db.standing.usable():
            try:
                async with pools.replica.connection(timeout=REPLICA_CHECKOUT_TIMEOUT_S) as conn:
                    return await fetch(conn, sql)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                self.db.standing.failed(exc)
        async with self._connection(pools.primary) as conn:
            return await fetch(conn, sql)

    async def run(self, stmt: Executable, params: Mapping[str, Any]) -> int:
        """Execute stmt on the primary; the rows it touched."""
        pools = await self._open()
        async with self._connection(pools.primary) as conn:
            cur = await conn.execute(*self._bind(stmt, params))
            return cur.rowcount

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) on the sync engine's side: for the rare paths that need a transaction."""
        return await run_in_threadpool(fn, *args)

    async def close(self) -> None:
        """Close the pools (the app's shutdown)."""
        pools, self._pools = self._pools, None
        if pools is not None and pools.loop is asyncio.get_running_loop():
            await pools.primary.close()
            if pools.replica is not None:
                await pools.replica.close()

    @staticmethod
    def _bind(stmt: Executable, params: Mapping[str, Any]) -> _Sql:
        return _compile(stmt).bind(params)

    @asynccontextmanager
    async def _connection(
        self, pool: AsyncConnectionPool[Any]
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        with translated():
            async with pool.connection(timeout=CHECKOUT_TIMEOUT_S) as conn:
                yield conn

    async def _open(self) -> _Pools:
        loop = asyncio.get_running_loop()
        pools = self._pools
        if pools is not None and pools.pid == os.getpid() and pools.loop is loop:
            return pools
        primary = self._pool(self.db.url)
        replica_url = self.db.replica_url
        replica = self._pool(replica_url, REPLICA_CONNECT_OPTIONS) if replica_url else None
        # wait=False: connections are made in the background; a request waits for one
        await primary.open(wait=False)
        if replica is not None:
            await replica.open(wait=False)
        self._pools = _Pools(os.getpid(), loop, primary, replica)
        return self._pools

    def _pool(self, url: str, extra: Mapping[str, Any] | None = None) -> AsyncConnectionPool[Any]:
        return AsyncConnectionPool(
            _conninfo(url),
            min_size=1,
            max_size=self._pool_size,
            open=False,
            # UTC like the sync engine's UTCDateTime, whatever the server's TimeZone is
            kwargs={"autocommit": True, "options": "-c TimeZone=UTC", **(extra or {})},
            configure=_configure,
            # a broken connection fails its one request (503) and is replaced in the
            # background; nothing waits for the database at startup
            reconnect_timeout=float("inf"),
        )
