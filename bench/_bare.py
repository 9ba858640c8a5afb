"""Bare Celery with SPARK's configuration and one no-op task: the thin front's worker side.

The worker runs `celery -A bench._bare:app worker`; the app reads its broker from BENCH_BROKER_URL.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from celery import Celery
from kombu.entity import Exchange
from kombu.entity import Queue as KombuQueue

import celeryconfig
from bench._resources import REDIS_URL
from spark.config import Settings

BROKER_ENV = "BENCH_BROKER_URL"
QUEUE = "bench"
TASK = "bench.noop"
#: the Redis key the no-op task increments (task_ignore_result is on: no result backend)
COUNTER = "bench:done"
WARMUP = 50

_clients: dict[int, redis.Redis] = {}


def broker_redis() -> redis.Redis:
    """This process's Redis client on the bench broker (prefork children each make their own)."""
    client = _clients.get(os.getpid())
    if client is None:
        _clients.clear()
        client = _clients[os.getpid()] = redis.Redis.from_url(broker_url())
    return client


def broker_url() -> str:
    """The broker the bare apps use: BENCH_BROKER_URL, or the bench's Redis database."""
    return os.environ.get(BROKER_ENV, REDIS_URL)


def noop(job_id: str) -> None:
    """Do nothing but count: the producer watches the counter to see the run finish."""
    broker_redis().incr(COUNTER)


def bare_app(name: str, queue_name: str, task: str, fn: Any, url: str) -> Celery:
    """A minimal Celery app on SPARK's configuration mapping, with fn as task on its own queue."""
    conf: dict[str, Any] = celeryconfig.build(Settings(broker_url=url))
    # Declared like SPARK's queues: a direct exchange named like the queue.
    queue = KombuQueue(queue_name, Exchange(queue_name, type="direct"), routing_key=queue_name)  # type: ignore[no-untyped-call]
    conf["task_queues"] = [*conf["task_queues"], queue]
    conf["task_routes"] = {**conf["task_routes"], task: {"queue": queue_name}}
    app = Celery(name)
    app.conf.update(conf)
    app.task(name=task, acks_late=True, reject_on_worker_lost=True)(fn)
    return app


def make_app(url: str) -> Celery:
    """The no-op app on url."""
    return bare_app("bench", QUEUE, TASK, noop, url)


app = make_app(broker_url())


def worker_args(queue: str, name: str) -> list[str]:
    """`celery worker` options as `spark worker` passes them (prefork, 2 processes, events)."""
    return ["worker", "-Q", queue, "-c", "2", "-P", "prefork", "-l", "INFO", "-n", name, "-E"]
