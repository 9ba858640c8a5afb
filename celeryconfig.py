"""Celery settings, built from SPARK's Settings (acks late, visibility, routes, priorities)."""

from __future__ import annotations

from typing import Any

from kombu.entity import Exchange
from kombu.entity import Queue as KombuQueue

from spark.config import Settings
from spark.domain.jobs import Queue
from spark.kinds import LONGEST_HARD_LIMIT_S, REGISTRY, target_queues

#: a message stays unacknowledged while its task runs (acks_late): the broker must not hand
#: it to another worker before the longest task could have finished
VISIBILITY_TIMEOUT_S = LONGEST_HARD_LIMIT_S + 600

MAINTENANCE_TASKS = {
    "spark.maintenance.relay": Queue.MAINTENANCE.value,
    "spark.maintenance.reap": Queue.MAINTENANCE.value,
    "spark.maintenance.rescue": Queue.MAINTENANCE.value,
    "spark.maintenance.push_file": Queue.MAINTENANCE.value,
    "spark.maintenance.relay_events": Queue.MAINTENANCE.value,
    "spark.maintenance.partitions": Queue.MAINTENANCE.value,
    "spark.maintenance.webhooks": Queue.MAINTENANCE.value,
    "spark.maintenance.retention": Queue.MAINTENANCE.value,
    "spark.maintenance.waiting_builds": Queue.MAINTENANCE.value,
    "spark.maintenance.continue_parent": Queue.MAINTENANCE.value,
    "spark.maintenance.continue_parents": Queue.MAINTENANCE.value,
    "spark.maintenance.end_idle_sessions": Queue.MAINTENANCE.value,
}


def _queue(name: str) -> KombuQueue:
    # A direct exchange per queue, named like it, as Flower and `celery inspect` expect.
    return KombuQueue(name, Exchange(name, type="direct"), routing_key=name)  # type: ignore[no-untyped-call]


def transport_options() -> dict[str, Any]:
    """Options of the Redis broker transport."""
    return {
        "visibility_timeout": VISIBILITY_TIMEOUT_S,
        # Redis keeps one list per priority step; 0 is served first.
        "queue_order_strategy": "priority",
        "priority_steps": list(range(10)),
        "sep": ":",
    }


def _idle_sweep_s(settings: Settings) -> float:
    return min(60.0, max(0.5, settings.session_idle_s / 10))


def build(settings: Settings) -> dict[str, Any]:
    """The Celery configuration mapping for these settings."""
    routes: dict[str, dict[str, str]] = {
        spec.task_name: {"queue": spec.queue.value} for spec in REGISTRY.values()
    }
    routes.update({name: {"queue": queue} for name, queue in MAINTENANCE_TASKS.items()})
    return {
        "broker_url": settings.require("broker_url"),
        "broker_transport_options": transport_options(),
        "result_backend_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_S},
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        # The job row is the result; Celery's result backend would only grow.
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        # builds.<Target> beside builds: a build goes to its target's queue (spark/kinds.py)
        "task_queues": [_queue(q) for q in [*(q.value for q in Queue), *target_queues()]],
        "task_default_queue": Queue.GENERATION.value,
        "task_routes": routes,
        "task_send_sent_event": True,
        "worker_send_task_events": True,
        "worker_prefetch_multiplier": 4,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_soft_shutdown_timeout": 30.0,
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 1,
        },
        "beat_schedule": {
            "relay-outbox": {
                "task": "spark.maintenance.relay",
                "schedule": settings.relay_interval_s,
                "options": {"expires": settings.relay_interval_s * 5},
            },
            "event-partitions": {
                "task": "spark.maintenance.partitions",
                "schedule": 3600.0,
                "options": {"expires": 600},
            },
            # Rollups of the hours just ended, then pruning (spark/jobs/retention.py).
            "retention": {
                "task": "spark.maintenance.retention",
                "schedule": 3600.0,
                "options": {"expires": 1800},
            },
            # Parents whose child job ended without its nudge arriving (spark/jobs/children.py).
            "continue-parents": {
                "task": "spark.maintenance.continue_parents",
                "schedule": settings.relay_interval_s,
                "options": {"expires": settings.relay_interval_s * 5},
            },
            "relay-events": {
                "task": "spark.maintenance.relay_events",
                "schedule": settings.relay_interval_s,
                "options": {"expires": settings.relay_interval_s * 5},
            },
            # Retries of build webhooks; a build's end also sends this task at once.
            "deliver-webhooks": {
                "task": "spark.maintenance.webhooks",
                "schedule": settings.relay_interval_s,
                "options": {"expires": settings.relay_interval_s * 5},
            },
            "rescue-stranded-messages": {
                "task": "spark.maintenance.rescue",
                "schedule": settings.rescue_after_s / 2,
                "options": {"expires": settings.rescue_after_s},
            },
            # Queued builds say whether a live builder declares their target.
            "waiting-builds": {
                "task": "spark.maintenance.waiting_builds",
                "schedule": settings.farm_heartbeat_s,
                "options": {"expires": settings.farm_heartbeat_s * 5},
            },
            # Sessions idle for SPARK_SESSION_IDLE_S end (spark/jobs/sessions.py): looked for
            # ten times per idle period, at most once a minute, so one ends late by 10% at most.
            "end-idle-sessions": {
                "task": "spark.maintenance.end_idle_sessions",
                "schedule": _idle_sweep_s(settings),
                "options": {"expires": _idle_sweep_s(settings) * 5},
            },
            "reap-abandoned-jobs": {
                "task": "spark.maintenance.reap",
                "schedule": settings.reaper_interval_s,
                "options": {"expires": settings.reaper_interval_s * 5},
            },
        },
    }
