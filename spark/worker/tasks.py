"""Celery tasks: one thin task per kind the registry declares, and the scheduler's upkeep."""

from __future__ import annotations

import importlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any, cast

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded

from spark import logs, metrics
from spark.broker.app import PUSH_FILE_TASK
from spark.broker.dispatch import CeleryDispatcher
from spark.db import events as event_queries
from spark.db.types import utcnow
from spark.domain.jobs import Job, JobKind, Queue
from spark.errors import ServiceUnavailable
from spark.events import relay as events_relay
from spark.handlers import writing
from spark.handlers.assist import Assistant
from spark.handlers.verification import Verifier
from spark.jobs import children, maintenance, retention, sessions
from spark.jobs.ending import Ending
from spark.jobs.lifecycle import worker_identity
from spark.jobs.runner import FollowUp, Handler, JobDeferred, RunPolicy, run_job
from spark.kinds import KindSpec, available, target_queues
from spark.projects import webhooks
from spark.worker.state import resources

log = logging.getLogger(__name__)

#: the maintenance task that delivers due build webhooks
WEBHOOKS_TASK = "spark.maintenance.webhooks"
#: the sweep that ends sessions idle for SPARK_SESSION_IDLE_S
IDLE_SESSIONS_TASK = "spark.maintenance.end_idle_sessions"


def load_handler(spec: KindSpec) -> Handler:
    """The handler the registry names for spec ("module:function"), imported."""
    if spec.handler is None:
        raise LookupError(f"{spec.kind.value} has no handler")
    module, _, name = spec.handler.partition(":")
    handler = getattr(importlib.import_module(module), name, None)
    if not callable(handler):
        raise LookupError(f"{spec.kind.value}: {spec.handler} is not a function")
    return cast(Handler, handler)


def _verifier(dispatcher: CeleryDispatcher) -> Verifier:
    res = resources()
    return Verifier(children.Parenting(res.db, res.events, dispatcher), res.tools)


def _assistant(dispatcher: CeleryDispatcher) -> Assistant:
    res = resources()
    return Assistant(children.Parenting(res.db, res.events, dispatcher), res.tools, res.settings)


def _decide(dispatcher: CeleryDispatcher) -> children.Decide:
    """What follows a child's end, by its parent's kind: an assist turn's next call, or a
    verify's next step."""
    assistant, verifier = _assistant(dispatcher), _verifier(dispatcher)

    def decide(parent: Job, carried: Mapping[str, Any], child: Job) -> children.Next | Ending:
        if parent.kind is JobKind.ASSIST:
            return assistant.decide(parent, carried, child)
        return verifier.decide(parent, carried, child)

    return decide


def _follow_up(spec: KindSpec, dispatcher: CeleryDispatcher) -> FollowUp | None:
    if spec.kind is JobKind.ASSIST:  # its tool calls run as child jobs after its own run
        return _assistant(dispatcher).follow_up
    # A kind whose params take `verify` proves its writes by child jobs after its handler.
    if "verify" in spec.params.model_fields:
        return _verifier(dispatcher).follow_up
    return None


def _policy(spec: KindSpec, dispatcher: CeleryDispatcher) -> RunPolicy:
    res = resources()
    retry = spec.retry
    return RunPolicy(
        worker=worker_identity(),
        lease_s=res.settings.lease_s,
        max_attempts=retry.max_attempts or res.settings.max_attempts,
        events=res.events,
        progress_interval_s=res.settings.progress_interval_s,
        timeout_errors=(SoftTimeLimitExceeded,),
        track=res.heartbeats.tracking,
        wait_limit_s=retry.dependency_wait_s or spec.limits.soft_s,
        end_patience_s=res.settings.end_patience_s,
        tools=res.tools,
        follow_up=_follow_up(spec, dispatcher),
    )


def _execute(
    app: Celery, dispatcher: CeleryDispatcher, spec: KindSpec, handler: Handler, job_id: str
) -> str | None:
    """Run the job; its terminal state (None if this message did nothing) is the task's
    return value. The job row is the result: a whole Job returned here would be pickled to
    the worker's main process, repr'd into its log line and its task-succeeded event, and
    cost that process more than the no-op task's whole run."""
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        log.error("task for %s carried a malformed job id %r; dropping it", spec.kind, job_id)
        return None
    done = run_job(resources().db, parsed, handler, _policy(spec, dispatcher))
    if done is None:
        return None
    if spec.notifies_webhooks and done.project_id is not None:
        _nudge(app, WEBHOOKS_TASK)
    if done.parent_id is not None and done.state.terminal:
        _nudge(app, children.CONTINUE_TASK, str(done.parent_id))
    return done.state.value


def _nudge(app: Celery, task: str, *args: str) -> None:
    # Deliver the project's webhooks, or continue the job's parent, now rather than at the
    # next scheduled scan, which does it all the same if this message is lost.
    try:
        app.send_task(task, args=args)
    except Exception:
        log.warning("could not send %s; the schedule will do its work", task, exc_info=True)


def _register_kind(app: Celery, dispatcher: CeleryDispatcher, spec: KindSpec) -> None:
    handler = load_handler(spec)

    def task(self: Any, job_id: str) -> str | None:
        # The job's lines name it from the start; its request and user once it is claimed.
        logs.bind(job_id=job_id, request_id=None, user=None)
        try:
            return _execute(app, dispatcher, spec, handler, job_id)
        except JobDeferred as wait:
            # Back in the queue: the same message returns after the countdown.
            raise self.retry(countdown=wait.countdown, max_retries=None) from None

    app.task(
        bind=True,
        name=spec.task_name,
        soft_time_limit=spec.limits.soft_s,
        time_limit=spec.limits.hard_s,
        acks_late=True,
        reject_on_worker_lost=True,
        # The database away: try the message again later rather than drop it.
        autoretry_for=(ServiceUnavailable,),
        retry_backoff=True,
        retry_backoff_max=spec.retry.backoff_max_s,
        max_retries=None,
    )(task)


def _reap() -> int:
    res = resources()
    policy = maintenance.ReapPolicy(res.settings.lease_s, res.settings.max_attempts)
    ended = maintenance.reap(res.db, res.events, policy)
    res.events.flush()
    return ended


def _prepare_partitions() -> int:
    return len(event_queries.prepare_partitions(resources().db))


def _retention() -> dict[str, int]:
    res = resources()
    files = retention.JobFiles(res.tools.artifacts, res.tools.builds.logs)
    policy = retention.RetentionPolicy.of(res.settings)
    report = retention.run_retention(res.db, policy, files, utcnow())
    return report.deleted


def _end_idle_sessions() -> int:
    res = resources()
    ended = sessions.end_idle(res.db, res.events, res.settings.session_idle_s)
    res.events.flush()
    return ended


def _relay_events() -> int:
    res = resources()
    return events_relay.relay_events(res.db, res.settings.require("nats_url"))


def _deliver_webhooks() -> int:
    res = resources()
    return webhooks.deliver_due(res.db, destinations=res.tools.destinations)


def _push_file(project_id: str, path: str, version: int) -> None:
    pushed = writing.push_version(resources().tools, uuid.UUID(project_id), path, version)
    editor = pushed.get("editor")
    if editor and (editor.get("error") or editor.get("stale")):
        log.warning("pushing %s version %d to its editor: %s", path, version, editor)


#: every broker queue a job may wait in: the shared ones and each build target's
_QUEUES = [*(queue.value for queue in Queue), *target_queues()]


def register_tasks(app: Celery) -> None:
    """Add a task per kind this server runs, and the maintenance tasks, to app."""
    dispatcher = CeleryDispatcher(app)
    for spec in available():
        _register_kind(app, dispatcher, spec)

    def relay() -> int:
        res = resources()
        sent = maintenance.relay(res.db, dispatcher, res.settings.relay_min_age_s)
        # The relay's every pass is also the queue-depth gauge's reading: one round trip.
        metrics.set_broker_queue_depths(dispatcher.queue_depths(_QUEUES))
        return sent

    def rescue() -> int:
        res = resources()
        return maintenance.rescue(res.db, dispatcher, res.settings.rescue_after_s)

    app.task(name="spark.maintenance.relay", ignore_result=True)(relay)
    app.task(name="spark.maintenance.rescue", ignore_result=True)(rescue)
    app.task(name="spark.maintenance.reap", ignore_result=True)(_reap)
    app.task(name="spark.maintenance.relay_events", ignore_result=True)(_relay_events)
    app.task(name="spark.maintenance.retention", ignore_result=True)(_retention)
    app.task(name="spark.maintenance.partitions", ignore_result=True)(_prepare_partitions)
    app.task(name=IDLE_SESSIONS_TASK, ignore_result=True)(_end_idle_sessions)
    app.task(name=WEBHOOKS_TASK, ignore_result=True)(_deliver_webhooks)
    app.task(name=PUSH_FILE_TASK, ignore_result=True)(_push_file)
    _register_continuations(app, dispatcher)


def _register_continuations(app: Celery, dispatcher: CeleryDispatcher) -> None:
    """The tasks that move a parent on once its child job ended (spark/jobs/children.py)."""

    def continue_parent(parent_id: str) -> str | None:
        parenting = _verifier(dispatcher).parenting
        ended = children.continue_parent(parenting, uuid.UUID(parent_id), _decide(dispatcher))
        return None if ended is None else ended.state.value

    def continue_parents() -> int:
        parenting = _verifier(dispatcher).parenting
        return children.continue_ready(parenting, _decide(dispatcher))

    # acks late: a continuation killed halfway comes back; continuing again is safe
    app.task(name=children.CONTINUE_TASK, ignore_result=True, acks_late=True)(continue_parent)
    app.task(name=children.CONTINUE_READY_TASK, ignore_result=True)(continue_parents)
