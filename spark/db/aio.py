"""The executor's async face, for the API: the same statements and method names as
spark.db.executor's Database, on psycopg's async pools, without a thread hop.

A request served by the sync face pays a thread-pool hop for its statements; measured under
load that was most of a poll's CPU. Here a poll is one round trip on an autocommit
connection, and polls made in the same turn of the event loop share one query.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from anyio.to_thread import run_sync as run_in_threadpool
from psycopg_pool import AsyncConnectionPool

from spark.batching import TurnBatcher
from spark.db.errors import translated
from spark.db.executor import (
    CONNECTION_OPTIONS,
    MAX_LIFETIME_S,
    RECONNECT_TIMEOUT_S,
    REPLICA_OPTIONS,
    Database,
    Params,
    Statement,
    bound,
    configure,
    conninfo,
    rows,
)
from spark.db.replica import REPLICA_CHECKOUT_TIMEOUT_S

T = TypeVar("T")

#: how long a request waits for a pooled connection before it is told to come back (503)
CHECKOUT_TIMEOUT_S = 3.0

_AsyncPool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]


class AsyncTransaction:
    """Statements on one async connection: a transaction's, or each committed on its own."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def one(self, stmt: Statement, params: Params = None) -> Any:
        """The first row stmt returns (attribute access by column name), or None."""
        return await (await self._execute(stmt, params)).fetchone()

    async def all(self, stmt: Statement, params: Params = None) -> list[Any]:
        """Every row stmt returns."""
        return await (await self._execute(stmt, params)).fetchall()

    async def scalar(self, stmt: Statement, params: Params = None) -> Any:
        """The first column of the first row stmt returns, or None."""
        row = await self.one(stmt, params)
        return None if row is None else row[0]

    async def run(self, stmt: Statement, params: Params = None) -> int:
        """Execute stmt; the rows it touched."""
        return (await self._execute(stmt, params)).rowcount

    async def _execute(self, stmt: Statement, params: Params) -> psycopg.AsyncCursor[Any]:
        cur = self._conn.cursor(row_factory=rows)
        with translated():
            await cur.execute(*bound(stmt, params))
        return cur


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    configure(conn)


@dataclass(frozen=True)
class _Pools:
    """Pools bound to the process and event loop that opened them."""

    pid: int
    loop: asyncio.AbstractEventLoop
    primary: _AsyncPool
    replica: _AsyncPool | None


class AsyncDatabase:
    """The async face of db: its primary and replica, on async pools."""

    def __init__(self, db: Database, *, pool_size: int = 10) -> None:
        self.db = db
        self._pool_size = pool_size
        self._pools: _Pools | None = None
        self._batchers: dict[str, TurnBatcher[Any, Any]] = {}
        self._sweeping = False
        self._sweep_task: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncTransaction]:
        """A transaction on the primary: committed on exit, rolled back on error."""
        async with self._connection() as conn:
            with translated():
                async with conn.transaction():
                    yield AsyncTransaction(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncTransaction]:
        """A transaction for reads, on the replica if there is one and it answers, else the
        primary."""
        async with self._reader() as conn:
            with translated():
                async with conn.transaction():
                    yield AsyncTransaction(conn)

    async def one(self, stmt: Statement, params: Params = None, *, replica: bool = False) -> Any:
        """The first row stmt returns (attribute access by column name), or None; from the
        replica when asked for and it answers."""
        async with self._statement(replica) as tx:
            return await tx.one(stmt, params)

    async def all(
        self, stmt: Statement, params: Params = None, *, replica: bool = False
    ) -> list[Any]:
        """Every row stmt returns."""
        async with self._statement(replica) as tx:
            return await tx.all(stmt, params)

    async def scalar(self, stmt: Statement, params: Params = None, *, replica: bool = False) -> Any:
        """The first column of the first row stmt returns, or None."""
        async with self._statement(replica) as tx:
            return await tx.scalar(stmt, params)

    async def run(self, stmt: Statement, params: Params = None) -> int:
        """Execute stmt on its own on the primary; the rows it touched."""
        async with self._statement(False) as tx:
            return await tx.run(stmt, params)

    async def by_key(self, many: Statement, column: str, key: Any, *, replica: bool = False) -> Any:
        """The row whose column equals key, or None; lookups made in the same turn of the event
        loop share one query (many takes the array `keys`)."""
        # Thirty-two clients polling at once would otherwise take thirty-two pooled
        # connections and round trips; gathered, they cost one `WHERE key = ANY(...)`.
        answer = functools.partial(self._rows_by_key, many, column, replica)
        return await self.batcher(f"by-key {id(many)} {column} {replica}", answer).call(key)

    async def _rows_by_key(
        self, many: Statement, column: str, replica: bool, keys: list[Hashable]
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

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(*args) on the sync face: for the rare paths that need a transaction of their own."""
        return await run_in_threadpool(fn, *args)

    async def close(self) -> None:
        """Close the pools (the app's shutdown)."""
        pools, self._pools = self._pools, None
        if pools is not None and pools.loop is asyncio.get_running_loop():
            await pools.primary.close()
            if pools.replica is not None:
                await pools.replica.close()

    @asynccontextmanager
    async def _statement(self, replica: bool) -> AsyncIterator[AsyncTransaction]:
        reader = self._reader() if replica else self._connection()
        async with reader as conn:
            yield AsyncTransaction(conn)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        primary = (await self._open()).primary
        with translated():
            async with primary.connection(timeout=CHECKOUT_TIMEOUT_S) as conn:
                try:
                    yield conn
                finally:
                    if conn.broken:
                        self._sweep(primary)

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A replica connection that answered its check, or else one of the primary (a dead
        replica is then left alone for a while: see ReplicaStanding)."""
        replica = (await self._open()).replica
        if replica is not None and self.db.standing.usable():
            try:
                conn = await replica.getconn(timeout=REPLICA_CHECKOUT_TIMEOUT_S)
            except psycopg.OperationalError as exc:  # PoolTimeout is one too
                self.db.standing.failed(exc)
            else:
                try:
                    yield conn
                finally:
                    await replica.putconn(conn)
                return
        async with self._connection() as conn:
            yield conn

    def _sweep(self, pool: _AsyncPool) -> None:
        """Check the pool's idle connections in the background after one was found broken
        (the server restarted): the others are most likely broken too."""
        if self._sweeping:
            return
        self._sweeping = True

        async def check() -> None:
            try:
                await pool.check()
            finally:
                self._sweeping = False

        self._sweep_task = asyncio.get_running_loop().create_task(check())

    async def _open(self) -> _Pools:
        loop = asyncio.get_running_loop()
        pools = self._pools
        if pools is not None and pools.pid == os.getpid() and pools.loop is loop:
            return pools
        primary = self._pool(self.db.url, {})
        replica_url = self.db.replica_url
        replica = self._pool(replica_url, REPLICA_OPTIONS) if replica_url else None
        # wait=False: connections are made in the background; a request waits for one
        await primary.open(wait=False)
        if replica is not None:
            await replica.open(wait=False)
        self._pools = _Pools(os.getpid(), loop, primary, replica)
        return self._pools

    def _pool(self, url: str, extra: Mapping[str, Any]) -> _AsyncPool:
        # as the sync face's pools (spark.db.executor.Database._pool)
        return AsyncConnectionPool(
            conninfo(url),
            min_size=1,
            max_size=self._pool_size,
            open=False,
            kwargs={**CONNECTION_OPTIONS, **extra},
            configure=_configure,
            check=AsyncConnectionPool.check_connection if extra else None,
            reconnect_timeout=RECONNECT_TIMEOUT_S,
            max_lifetime=MAX_LIFETIME_S,
        )
