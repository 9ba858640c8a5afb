"""Bare Celery with SPARK's configuration: the worker side of the thin job API (_thin_front).

The worker runs `celery -A bench._bare:app worker`; the app reads its broker from
BENCH_BROKER_URL and the thin API's database from THIN_DATABASE_URL. Two tasks share one
queue: `bench.finish` marks the job's row succeeded (one UPDATE), what a user's task does once
its work is done; `bench.noop` only counts in Redis, the floor of a front that keeps no row.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import psycopg
import redis
from celery import Celery
from kombu.entity import Exchange
from kombu.entity import Queue as KombuQueue
from psycopg.types.json import Jsonb

import celeryconfig
from spark.config import Settings

BROKER_ENV = "BENCH_BROKER_URL"
DATABASE_ENV = "THIN_DATABASE_URL"
QUEUE = "bench"
TASK = "bench.finish"
NOOP_TASK = "bench.noop"
#: the Redis key the no-op task increments (task_ignore_result is on: no result backend)
COUNTER = "bench:done"
#: the thin API's own jobs table, as a user would define it
TABLE = "thin_jobs"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id uuid PRIMARY KEY,
    kind text NOT NULL,
    state text NOT NULL,
    params jsonb NOT NULL,
    result jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
)"""
_FINISH = f"UPDATE {TABLE} SET state = 'succeeded', result = %s, updated_at = now() WHERE id = %s"
_RESULT = Jsonb({"ok": True})

#: per process (prefork children each make their own): the Redis client, the database connection
_redis: dict[int, redis.Redis] = {}
_databases: dict[int, psycopg.Connection[Any]] = {}


def broker_url() -> str:
    """The broker the bare apps use: BENCH_BROKER_URL.

    Unset only where the app is imported for its names and never publishes (the benchmark's
    own process); the memory transport then stands in without connecting anywhere.
    """
    return os.environ.get(BROKER_ENV, "memory://")


def broker_redis() -> redis.Redis:
    """This process's Redis client on the broker."""
    client = _redis.get(os.getpid())
    if client is None:
        _redis.clear()
        client = _redis[os.getpid()] = redis.Redis.from_url(broker_url())
    return client


def _database() -> psycopg.Connection[Any]:
    conn = _databases.get(os.getpid())
    if conn is None:
        _databases.clear()
        conn = psycopg.connect(os.environ[DATABASE_ENV], autocommit=True)
        _databases[os.getpid()] = conn
    return conn


def finish(job_id: str) -> None:
    """Mark the job's row succeeded, as a user's task does when its work is done."""
    _database().execute(_FINISH, (_RESULT, job_id))


def noop(job_id: str) -> None:
    """Do nothing but count: the producer watches the counter to see the run finish."""
    broker_redis().incr(COUNTER)


def bare_app(name: str, queue_name: str, tasks: dict[str, Callable[..., Any]], url: str) -> Celery:
    """A minimal Celery app on SPARK's configuration mapping, with tasks on a queue of their own."""
    conf: dict[str, Any] = celeryconfig.build(Settings(broker_url=url))
    # Declared like SPARK's queues: a direct exchange named like the queue.
    queue = KombuQueue(queue_name, Exchange(queue_name, type="direct"), routing_key=queue_name)  # type: ignore[no-untyped-call]
    conf["task_queues"] = [*conf["task_queues"], queue]
    conf["task_routes"] = {**conf["task_routes"], **{task: {"queue": queue_name} for task in tasks}}
    app = Celery(name)
    app.conf.update(conf)
    for task, fn in tasks.items():
        app.task(name=task, acks_late=True, reject_on_worker_lost=True)(fn)
    return app


def make_app(url: str) -> Celery:
    """The thin API's app on url: finish and no-op."""
    return bare_app("bench", QUEUE, {TASK: finish, NOOP_TASK: noop}, url)


app = make_app(broker_url())


def worker_args(queue: str, name: str) -> list[str]:
    """`celery worker` options as `spark worker` passes them (prefork, 2 processes, events)."""
    return ["worker", "-Q", queue, "-c", "2", "-P", "prefork", "-l", "INFO", "-n", name, "-E"]
