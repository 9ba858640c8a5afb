"""The worker's Celery app: `celery -A spark.worker.app worker` (or `spark worker`)."""

from __future__ import annotations

import gc
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from spark.config import load_settings
from spark.taskqueue import create_celery
from spark.worker.events import connect_event_signals
from spark.worker.metrics import connect_signals
from spark.worker.state import resources
from spark.worker.tasks import register_tasks


def create_worker_app() -> Celery:
    """The Celery app with SPARK's tasks registered."""
    app = create_celery(load_settings())
    register_tasks(app)
    return app


def _init_process(**_: Any) -> None:
    # Each prefork child opens its own database pool and heartbeat thread.
    resources()
    # What the child holds now (modules, handlers, pools) lives as long as it does: kept out
    # of the collector's sight, full collections stay short, as in the API (spark/web/app.py).
    gc.freeze()


worker_process_init.connect(_init_process, weak=False)
connect_signals()
connect_event_signals()


app = create_worker_app()
