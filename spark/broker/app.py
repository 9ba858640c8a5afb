"""The Celery app factory, shared by producers (API, relay) and workers."""

from __future__ import annotations

from celery import Celery

import celeryconfig
from spark.config import Settings

#: pushes a file version written through the API (a rollback) into its project's editor;
#: sent by the API, run by a worker, which alone holds an editor bridge
PUSH_FILE_TASK = "spark.maintenance.push_file"


def create_celery(settings: Settings, name: str = "spark") -> Celery:
    """A Celery app configured for these settings (the worker adds tasks and signals)."""
    app = Celery(name)
    app.conf.update(celeryconfig.build(settings))
    return app
