"""Worker metrics: Celery signal handlers that record (never change job state), the prefork
multiprocess folder, and the worker's own /metrics server."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from celery.signals import (
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    task_revoked,
    task_success,
    worker_init,
    worker_process_shutdown,
    worker_shutdown,
)

from spark import metrics
from spark.config import Settings, load_settings

log = logging.getLogger(__name__)


def multiprocess_dir(settings: Settings, pid: int) -> Path:
    """The folder where the worker whose main process is pid keeps its metric files."""
    return settings.var_dir / "prometheus" / f"worker-{pid}"


def prepare_multiprocess_dir(path: Path) -> None:
    """Make path an empty folder and have every process of this worker keep metrics there."""
    if "prometheus_client" in sys.modules:
        # Its value storage is already fixed in memory: the children's counts would be lost.
        raise RuntimeError("prepare_multiprocess_dir must run before prometheus_client loads")
    shutil.rmtree(path, ignore_errors=True)  # a reused pid must not inherit old counts
    path.mkdir(parents=True)
    # The one environment write outside Settings: prometheus_client reads only this variable.
    os.environ[metrics.MULTIPROC_ENV] = str(path.resolve())


def _task_name(sender: Any) -> str:
    name = getattr(sender, "name", None)
    return name if isinstance(name, str) else "unknown"


def _on_prerun(sender: Any = None, **_: Any) -> None:
    metrics.task_active(_task_name(sender), +1)


def _on_postrun(sender: Any = None, **_: Any) -> None:
    # Finished jobs are counted by the job's end (spark/jobs/ending.py), whoever ends it.
    metrics.task_active(_task_name(sender), -1)


def _on_success(sender: Any = None, **_: Any) -> None:
    metrics.celery_task(_task_name(sender), "succeeded")


def _on_failure(sender: Any = None, **_: Any) -> None:
    metrics.celery_task(_task_name(sender), "failed")


def _on_retry(sender: Any = None, **_: Any) -> None:
    metrics.celery_task(_task_name(sender), "retried")


def _on_revoked(sender: Any = None, **_: Any) -> None:
    metrics.celery_task(_task_name(sender), "revoked")


def _on_worker_init(**_: Any) -> None:
    # The main process, before the pool forks: one server reads every child's files.
    settings = load_settings()
    if settings.worker_metrics_port <= 0:
        return
    if not metrics.multiprocess_mode():
        log.warning("PROMETHEUS_MULTIPROC_DIR unset: /metrics shows the main process only")
    try:
        metrics.serve_http(settings.worker_metrics_port, settings.worker_metrics_host)
    except OSError as exc:
        # Metrics are worth a log line, not a worker that refuses to run jobs.
        log.error(
            "worker metrics server not started on %s:%d: %s",
            settings.worker_metrics_host,
            settings.worker_metrics_port,
            exc,
        )


def _on_process_shutdown(pid: int | None = None, **_: Any) -> None:
    metrics.mark_process_dead(pid if pid is not None else os.getpid())


def _on_worker_shutdown(**_: Any) -> None:
    # Each start gets a fresh folder named by its pid, so an old one would only pile up;
    # a folder an operator chose through PROMETHEUS_MULTIPROC_DIR is not ours to remove.
    shutil.rmtree(multiprocess_dir(load_settings(), os.getpid()), ignore_errors=True)


def connect_signals() -> None:
    """Connect the metric handlers to Celery's signals (once per process)."""
    task_prerun.connect(_on_prerun, weak=False)
    task_postrun.connect(_on_postrun, weak=False)
    task_success.connect(_on_success, weak=False)
    task_failure.connect(_on_failure, weak=False)
    task_retry.connect(_on_retry, weak=False)
    task_revoked.connect(_on_revoked, weak=False)
    worker_init.connect(_on_worker_init, weak=False)
    worker_process_shutdown.connect(_on_process_shutdown, weak=False)
    worker_shutdown.connect(_on_worker_shutdown, weak=False)
