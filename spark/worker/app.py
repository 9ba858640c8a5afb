"""The worker's Celery app: `celery -A spark.worker.app worker` (or `spark worker`)."""

from __future__ import annotations

import gc
from typing import Any

from celery import Celery
from celery.signals import setup_logging, task_postrun, worker_process_init

from spark import logs
from spark.broker.app import create_celery
from spark.config import load_settings
from spark.worker.events import connect_event_signals
from spark.worker.farm import connect_farm_signals, register_farm_tasks
from spark.worker.metrics import connect_signals
from spark.worker.state import resources
from spark.worker.tasks import register_tasks


def create_worker_app() -> Celery:
    """The Celery app with SPARK's tasks registered."""
    app = create_celery(load_settings())
    register_tasks(app)
    register_farm_tasks(app)
    return app


def _init_process(**_: Any) -> None:
    # Each prefork child opens its own database pool and heartbeat thread.
    resources()
    # What the child holds now (modules, handlers, pools) lives as long as it does: kept out
    # of the collector's sight, full collections stay short, as in the API (spark/web/app.py).
    gc.freeze()


def _setup_logging(loglevel: int | None = None, **_: Any) -> None:
    # With a receiver here Celery leaves logging alone: its own lines and the tasks' go through
    # SPARK's handler, which prefork children inherit when they are forked.
    logs.configure_process(load_settings(), loglevel or None)


def _forget_job(**_: Any) -> None:
    # Set by the task (spark/worker/tasks.py) and kept through Celery's own line about the
    # task's outcome; the next task in this process starts with none.
    logs.clear()


setup_logging.connect(_setup_logging, weak=False)
task_postrun.connect(_forget_job, weak=False, dispatch_uid="spark-log-context")
worker_process_init.connect(_init_process, weak=False)
connect_signals()
connect_event_signals()
connect_farm_signals()


app = create_worker_app()
