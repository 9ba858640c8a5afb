"""A builder's side of the farm registry: its heartbeat, and the jobs its processes run.

A worker whose queues include the builds queues is a builder. Its main process beats for the
node (host name, OS, Unity version, the targets its `builds.<Target>` queues declare); a job
runs in a prefork child, so each child running a farm job keeps that job's own key alive from
a thread of its own, and the registry groups the keys by node. A child killed mid-job stops
beating and its key expires with the rest of the machine's.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_ready, worker_shutdown

from spark.config import load_settings
from spark.db import jobs as job_queries
from spark.db.types import utcnow
from spark.domain.farm import BuilderBeat, RunningJob
from spark.domain.jobs import Queue
from spark.domain.targets import BuildTarget, host_os
from spark.engines.unity.editor_version import unity_version
from spark.jobs.waiting import mark_waiting_builds
from spark.kinds import REGISTRY
from spark.kv.farm import RedisFarm, make_farm
from spark.worker.state import resources

log = logging.getLogger(__name__)

#: the tasks that run on the farm, routed by target
_FARM_TASKS = frozenset(spec.task_name for spec in REGISTRY.values() if spec.per_target)
_TARGET_QUEUE = f"{Queue.BUILDS.value}."


class Beating:
    """Calls beat() now and every interval_s from a daemon thread until stopped."""

    def __init__(self, beat: Callable[[], None], interval_s: float, name: str) -> None:
        self._beat = beat
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self._beat()
            except Exception:
                # Redis away: the next beat tries again; three missed ones and we are gone.
                log.warning("farm heartbeat failed", exc_info=True)
            if self._stop.wait(self._interval):
                return

    def stop(self) -> None:
        """Stop beating and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)


def declared_targets(queues: Iterable[str]) -> tuple[BuildTarget, ...] | None:
    """The targets a worker consuming queues declares; None for a worker that is no builder."""
    names = set(queues)
    if Queue.BUILDS.value not in names and not any(n.startswith(_TARGET_QUEUE) for n in names):
        return None
    return tuple(t for t in BuildTarget if f"{_TARGET_QUEUE}{t.value}" in names)


class _Process:
    """This process's registry client and beats, made after fork."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.settings = load_settings()
        self.farm: RedisFarm = make_farm(self.settings)
        self.node: Beating | None = None
        self.node_name = ""
        self.jobs: dict[str, Beating] = {}


_process: _Process | None = None


def _here() -> _Process:
    global _process
    if _process is None or _process.pid != os.getpid():
        _process = _Process()
    return _process


def _on_ready(sender: Any = None, **_: Any) -> None:
    queues = [q.name for q in sender.task_consumer.queues]
    targets = declared_targets(queues)
    here = _here()
    if targets is None or here.node is not None:
        return
    node = str(sender.hostname)
    host, os_name = socket.gethostname(), host_os()
    versions: list[str] = []

    def beat() -> None:
        if not versions:
            versions.append(unity_version(here.settings.unity_path) or "")
        found = tuple(v for v in versions if v)
        here.farm.beat(BuilderBeat(node, host, os_name, found, targets, utcnow()))

    here.node_name = node
    here.node = Beating(beat, here.settings.farm_heartbeat_s, "spark-farm-beat")
    log.info("builder %s declares %s", node, ", ".join(t.value for t in targets) or "no target")


def _on_shutdown(**_: Any) -> None:
    here = _here()
    if here.node is None:
        return
    here.node.stop()
    here.node = None
    try:
        here.farm.leave(here.node_name)
    except Exception:
        log.warning("could not leave the farm registry; it expires on its own", exc_info=True)


def _on_task_start(task_id: str = "", task: Any = None, **_: Any) -> None:
    if task is None or task.name not in _FARM_TASKS:
        return
    try:
        job_id = uuid.UUID(task_id)
        job = job_queries.get_job(resources().db, job_id)
    except Exception:
        log.warning("farm: could not read job %s", task_id, exc_info=True)
        return
    if job is None:
        return
    here = _here()
    running = RunningJob(str(task.request.hostname), job_id, job.owner)
    interval = here.settings.farm_heartbeat_s
    here.jobs[task_id] = Beating(lambda: here.farm.running(running), interval, "spark-farm-job")


def _on_task_end(task_id: str = "", task: Any = None, **_: Any) -> None:
    here = _here()
    beating = here.jobs.pop(task_id, None)
    if beating is None or task is None:
        return
    beating.stop()
    try:
        here.farm.finished(str(task.request.hostname), uuid.UUID(task_id))
    except Exception:
        log.warning("farm: could not record the end of %s; it expires", task_id, exc_info=True)


def connect_farm_signals() -> None:
    """Beat for the node when it is a builder, and for each farm job while it runs."""
    worker_ready.connect(_on_ready, weak=False, dispatch_uid="spark-farm-ready")
    worker_shutdown.connect(_on_shutdown, weak=False, dispatch_uid="spark-farm-shutdown")
    task_prerun.connect(_on_task_start, weak=False, dispatch_uid="spark-farm-job-start")
    task_postrun.connect(_on_task_end, weak=False, dispatch_uid="spark-farm-job-end")


def _waiting_builds() -> int:
    res = resources()
    done = mark_waiting_builds(res.db, _here().farm.read())
    return done.marked + done.cleared


def register_farm_tasks(app: Celery) -> None:
    """Add the scheduler's farm step: queued builds say whether a builder awaits them."""
    app.task(name="spark.maintenance.waiting_builds", ignore_result=True)(_waiting_builds)
