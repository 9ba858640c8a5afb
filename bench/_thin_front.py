"""The thin front a user would write instead of SPARK: Starlette, `send_task`, one SELECT.

    uvicorn bench._thin_front:app   (THIN_DATABASE_URL, BENCH_BROKER_URL)

POST /jobs publishes the bare no-op task (bench._bare) and answers 202 with the task id;
GET /jobs/{id} answers with one primary-key SELECT on SPARK's jobs table through a psycopg
async pool. No authentication, no limits, no job row: the baseline SPARK is measured against.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench._bare import QUEUE, TASK, broker_url, make_app

DATABASE_ENV = "THIN_DATABASE_URL"
_POLL = (
    "SELECT id::text, kind, state, progress_percent, result, error, created_at::text "
    "FROM jobs WHERE id = %s"
)

celery = make_app(broker_url())
pool = AsyncConnectionPool(os.environ.get(DATABASE_ENV, ""), min_size=4, max_size=10, open=False)


async def submit(request: Request) -> JSONResponse:
    """Publish the no-op task with the body's kind; 202 with its id."""
    body = await request.json()
    task_id = str(uuid.uuid4())
    celery.send_task(TASK, args=[task_id], task_id=task_id, queue=QUEUE, priority=4)
    return JSONResponse({"id": task_id, "kind": body.get("kind"), "state": "queued"}, 202)


async def poll(request: Request) -> JSONResponse:
    """The job row by primary key, or 404."""
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
