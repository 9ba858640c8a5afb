"""The thin job API a user would write instead of SPARK: Starlette, a jobs table, `send_task`.

    uvicorn bench._thin_front:app   (THIN_DATABASE_URL, BENCH_BROKER_URL, THIN_ROWS)

POST /jobs inserts the job's row into its own table (bench._bare.SCHEMA: id, kind, state,
params, result, created_at, updated_at), commits and publishes `bench.finish` with the row's
id, then answers 202; the bare worker marks the row succeeded. GET /jobs/{id} reads the row by
primary key. One psycopg async pool; no authentication, no limits, no events, no outbox.
With THIN_ROWS=0 the POST keeps no row and publishes the no-op task: the floor, "no row".
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench._bare import DATABASE_ENV, NOOP_TASK, QUEUE, TABLE, TASK, broker_url, make_app

ROWS_ENV = "THIN_ROWS"
_INSERT = f"INSERT INTO {TABLE} (id, kind, state, params) VALUES (%s, %s, 'queued', %s)"
_POLL = (
    "SELECT id::text, kind, state, params, result, created_at::text, updated_at::text "
    f"FROM {TABLE} WHERE id = %s"
)

ROWS = os.environ.get(ROWS_ENV, "1") != "0"
celery = make_app(broker_url())
pool = AsyncConnectionPool(os.environ.get(DATABASE_ENV, ""), min_size=4, max_size=10, open=False)


async def submit(request: Request) -> JSONResponse:
    """Insert the job's row, publish its task; 202 with its id."""
    body = await request.json()
    job_id = str(uuid.uuid4())
    kind = str(body.get("kind", ""))
    if ROWS:
        # the pool's connection commits when the block ends, before the task can run
        async with pool.connection() as conn:
            await conn.execute(_INSERT, (job_id, kind, Jsonb(body.get("params") or {})))
    task = TASK if ROWS else NOOP_TASK
    celery.send_task(task, args=[job_id], task_id=job_id, queue=QUEUE, priority=4)
    return JSONResponse({"id": job_id, "kind": kind, "state": "queued"}, 202)


async def poll(request: Request) -> JSONResponse:
    """The job's row by primary key, or 404."""
    async with pool.connection() as conn:
        cur = await conn.cursor(row_factory=dict_row).execute(_POLL, (request.path_params["id"],))
        row = await cur.fetchone()
    if row is None:
        return JSONResponse({"error": "not found"}, 404)
    return JSONResponse(row)


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    await pool.open()
    yield
    await pool.close()


app = Starlette(
    routes=[Route("/jobs", submit, methods=["POST"]), Route("/jobs/{id}", poll)],
    lifespan=lifespan,
)
