"""Phase (a): bare Celery with SPARK's configuration, one no-op task, a real prefork worker.

The worker runs `celery -A bench._bare:app worker`; the app reads its broker from BENCH_BROKER_URL.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from kombu.entity import Exchange
from kombu.entity import Queue as KombuQueue

import celeryconfig
from bench._procs import Proc, child_env
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


@dataclass(frozen=True)
class BareResult:
    """Publish and end-to-end figures for the bare no-op task."""

    tasks: int
    publish_s: float
    end_to_end_s: float
    producer_cpu_s: float
    worker_cpu_s: float

    @property
    def publish_per_s(self) -> float:
        """Tasks published per second by one producer."""
        return self.tasks / self.publish_s

    @property
    def end_to_end_per_s(self) -> float:
        """Tasks done per second, first publish to last task done."""
        return self.tasks / self.end_to_end_s


def worker_args(queue: str, name: str) -> list[str]:
    """`celery worker` options as `spark worker` passes them (prefork, 2 processes, events)."""
    return ["worker", "-Q", queue, "-c", "2", "-P", "prefork", "-l", "INFO", "-n", name, "-E"]


def _publish(producer: Celery, count: int) -> None:
    # The same call CeleryDispatcher makes: task id, explicit queue, priority.
    for _ in range(count):
        job_id = str(uuid.uuid4())
        producer.send_task(TASK, args=[job_id], task_id=job_id, queue=QUEUE, priority=4)


def _wait_count(client: redis.Redis, worker: Proc, expected: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while int(client.get(COUNTER) or 0) < expected:
        worker.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"bare Celery: only {client.get(COUNTER)!r} of {expected} done")
        time.sleep(0.005)
    return time.perf_counter()


def run_bare(tasks: int, workdir: Path, broker_url: str = REDIS_URL) -> BareResult:
    """Start a bare worker, publish tasks no-ops, time the publishing and the whole run."""
    env = child_env({BROKER_ENV: broker_url})
    args = ["-m", "celery", "-A", "bench._bare:app", *worker_args(QUEUE, f"bench{os.getpid()}@%h")]
    worker = Proc("bare-worker", args, env, workdir)
    producer = make_app(broker_url)
    client = redis.Redis.from_url(broker_url)
    try:
        worker.start()
        worker.wait_for_log("ready.")
        _publish(producer, WARMUP)
        _wait_count(client, worker, WARMUP, 60)
        client.delete(COUNTER)
        cpu0, wcpu0 = time.process_time(), worker.cpu_seconds()
        start = time.perf_counter()
        _publish(producer, tasks)
        published = time.perf_counter()
        cpu1 = time.process_time()
        done = _wait_count(client, worker, tasks, 120 + tasks / 50)
        return BareResult(
            tasks, published - start, done - start, cpu1 - cpu0, worker.cpu_seconds() - wcpu0
        )
    finally:
        worker.stop()
        producer.close()
        client.close()
