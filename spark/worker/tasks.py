"""Celery tasks: thin — parse the job id, pick the handler, let the runner do the rest."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded

from spark import webhooks
from spark.contracts.asset_params import ExportPackageParams, GenerateAssetParams
from spark.contracts.build_params import UnityBuildParams
from spark.contracts.params import GenerateScriptParams
from spark.contracts.preset_params import ApplyPresetParams
from spark.db import events as event_queries
from spark.db import projects as project_queries
from spark.domain.jobs import KIND_SPECS, Job, JobKind, task_name
from spark.engines.unity import assets, builds, package, presets, scripts
from spark.errors import JobFailure, ServiceUnavailable
from spark.events import relay as events_relay
from spark.jobs import maintenance
from spark.jobs.dispatch import CeleryDispatcher
from spark.jobs.lifecycle import worker_identity
from spark.jobs.runner import Handler, JobContext, JobDeferred, RunPolicy, run_job
from spark.worker.state import resources

log = logging.getLogger(__name__)


def _generate_script(ctx: JobContext) -> Mapping[str, Any]:
    params = GenerateScriptParams.model_validate(ctx.job.params)
    return scripts.generate_script(params, ctx.report, resources().generator)


def _apply_preset(ctx: JobContext) -> Mapping[str, Any]:
    return presets.apply_preset(ApplyPresetParams.model_validate(ctx.job.params), ctx.report)


def _generate_asset(ctx: JobContext) -> Mapping[str, Any]:
    params = GenerateAssetParams.model_validate(ctx.job.params)
    return assets.generate_asset(params, ctx.report)


def _export_package(ctx: JobContext) -> Mapping[str, Any]:
    params = ExportPackageParams.model_validate(ctx.job.params)
    result, data = package.export_package(params, ctx.report)
    stored = resources().artifacts.put(ctx.job.id, str(result["artifact"]), data)
    return {**result, "artifacts": [stored.as_dict()]}


def _unity_build(ctx: JobContext) -> Mapping[str, Any]:
    params = UnityBuildParams.model_validate(ctx.job.params)
    res = resources()
    if ctx.job.project_id is None:
        raise JobFailure("project_not_found", "the build names no project")
    with res.db.statement() as s:
        project = project_queries.get_project_for_worker(s, ctx.job.project_id)
    if project is None:
        raise JobFailure("project_not_found", "the build's project no longer exists")
    request = builds.BuildRequest(ctx.job.id, ctx.attempt, project, params)
    return builds.run_build(request, res.build_environment, ctx.report)


#: the kinds this worker can run, and how
HANDLERS: dict[JobKind, Handler] = {
    JobKind.GENERATE_SCRIPT: _generate_script,
    JobKind.APPLY_PRESET: _apply_preset,
    JobKind.GENERATE_ASSET: _generate_asset,
    JobKind.EXPORT_PACKAGE: _export_package,
    JobKind.UNITY_BUILD: _unity_build,
}


def _execute(kind: JobKind, job_id: str) -> Job | None:
    """Run the job; the finished job (or None if this message did nothing) is the task's
    return value, which the signal handlers read (results themselves are ignored)."""
    try:
        parsed = uuid.UUID(job_id)
    except ValueError:
        log.error("task for %s carried a malformed job id %r; dropping it", kind, job_id)
        return None
    res = resources()
    policy = RunPolicy(
        worker=worker_identity(),
        lease_s=res.settings.lease_s,
        max_attempts=res.settings.max_attempts,
        progress_interval_s=res.settings.progress_interval_s,
        timeout_errors=(SoftTimeLimitExceeded,),
        wait_limit_s=KIND_SPECS[kind].soft_time_limit_s,
        track=res.heartbeats.tracking,
        events=res.events,
    )
    return run_job(res.db, parsed, HANDLERS[kind], policy)


def _reap() -> int:
    res = resources()
    policy = maintenance.ReapPolicy(lease_s=res.settings.lease_s)
    ended = maintenance.reap(res.db, policy, events=res.events)
    res.events.flush()
    return ended


def _prepare_partitions() -> int:
    return len(event_queries.prepare_partitions(resources().db))


def _relay_events() -> int:
    res = resources()
    if not res.settings.nats_url:
        return 0
    return events_relay.relay_events(res.db, res.settings.nats_url)


def _deliver_webhooks() -> int:
    res = resources()
    return webhooks.deliver_due(res.db, allow_private=res.settings.webhook_allow_private)


def register_tasks(app: Celery) -> None:
    """Add a task per runnable kind, and the maintenance tasks, to app."""
    for kind in HANDLERS:
        spec = KIND_SPECS[kind]

        def task(self: Any, job_id: str, _kind: JobKind = kind) -> Job | None:
            try:
                return _execute(_kind, job_id)
            except JobDeferred as wait:
                # Back in the queue: the same message returns after the countdown.
                raise self.retry(countdown=wait.countdown, max_retries=None) from None

        app.task(
            bind=True,
            name=task_name(kind),
            soft_time_limit=spec.soft_time_limit_s,
            time_limit=spec.hard_time_limit_s,
            acks_late=True,
            reject_on_worker_lost=True,
            # The database away: try the message again later rather than drop it.
            autoretry_for=(ServiceUnavailable,),
            retry_backoff=True,
            retry_backoff_max=60,
            max_retries=None,
        )(task)

    def relay() -> int:
        res = resources()
        return maintenance.relay(res.db, CeleryDispatcher(app), res.settings.relay_min_age_s)

    app.task(name="spark.maintenance.relay", ignore_result=True)(relay)
    app.task(name="spark.maintenance.reap", ignore_result=True)(_reap)
    app.task(name="spark.maintenance.relay_events", ignore_result=True)(_relay_events)
    app.task(name="spark.maintenance.partitions", ignore_result=True)(_prepare_partitions)
    app.task(name="spark.maintenance.webhooks", ignore_result=True)(_deliver_webhooks)
