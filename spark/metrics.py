"""Prometheus metrics: every metric SPARK exports, defined once, and typed functions to record them.

prometheus_client is imported inside functions, never at the top of this module: it decides
between in-memory values and multiprocess files when it is first imported, and `spark worker`
must set PROMETHEUS_MULTIPROC_DIR before that happens. Importing this module is always safe.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from spark.domain.jobs import Job

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: set by prepare_multiprocess_dir in the worker (or by the operator for a multi-process API)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

JOB_DURATION_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
#: the design notes' buckets for a call's duration (LLM or tool), seconds
CALL_DURATION_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0)
QUEUE_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

TaskOutcome = Literal["succeeded", "failed", "retried", "revoked"]


@dataclass(frozen=True)
class _Metrics:
    """The metric objects of this process."""

    jobs_submitted: Counter
    jobs_finished: Counter
    job_duration: Histogram
    job_queue_wait: Histogram
    events_published: Counter
    events_failed: Counter
    events_dead_lettered: Counter
    event_outbox_depth: Gauge
    session_connects: Counter
    sessions_active: Gauge
    http_requests: Counter
    http_request_duration: Histogram
    celery_tasks: Counter
    celery_tasks_active: Gauge
    messages_resent: Counter
    replica_lag: Gauge
    retention_deleted: Counter
    rollup_hours: Counter
    breaker_open: Gauge
    preview_cache_lookups: Counter
    call_duration: Histogram
    llm_tokens: Counter
    llm_cost: Counter
    broker_queue_depth: Gauge


_made: list[_Metrics] = []
_making = threading.Lock()


def _metrics() -> _Metrics:
    """The metric objects, created (and registered) once, on first use."""
    if not _made:
        # Two threads' first uses (a job's end and a background sender, say) must not both
        # register the metrics: the second registration is refused as a duplicate.
        with _making:
            if not _made:
                _made.append(_make())
    return _made[0]


def _make() -> _Metrics:
    """The metric objects, registered with prometheus_client's default registry."""
    from prometheus_client import Counter, Gauge, Histogram

    return _Metrics(
        jobs_submitted=Counter("spark_jobs_submitted", "Jobs accepted by the API.", ["kind"]),
        jobs_finished=Counter(
            "spark_jobs_finished", "Jobs a worker brought to a terminal state.", ["kind", "state"]
        ),
        job_duration=Histogram(
            "spark_job_duration_seconds",
            "Time from a job's start to its end.",
            ["kind"],
            buckets=JOB_DURATION_BUCKETS,
        ),
        job_queue_wait=Histogram(
            "spark_job_queue_wait_seconds",
            "Time from a job's submission to its start.",
            ["kind"],
            buckets=QUEUE_WAIT_BUCKETS,
        ),
        events_published=Counter("spark_events_published", "Events accepted by the bus."),
        events_failed=Counter("spark_events_failed", "Event publishes that failed."),
        events_dead_lettered=Counter("spark_events_dead_lettered", "Events sent to the DLQ."),
        # livemax: the relay's latest reading, forgetting processes that have exited.
        event_outbox_depth=Gauge(
            "spark_event_outbox_depth", "Events waiting in the outbox.", multiprocess_mode="livemax"
        ),
        session_connects=Counter("spark_session_connects", "Sessions opened (POST /v1/sessions)."),
        # livemax: the idle sweep's latest count of open sessions, from the database
        sessions_active=Gauge(
            "spark_sessions_active", "Sessions open now.", multiprocess_mode="livemax"
        ),
        http_requests=Counter(
            "spark_http_requests", "HTTP requests served.", ["route", "method", "status"]
        ),
        http_request_duration=Histogram(
            "spark_http_request_duration_seconds", "HTTP request latency.", ["route", "method"]
        ),
        celery_tasks=Counter("spark_celery_tasks", "Celery task outcomes.", ["task", "outcome"]),
        messages_resent=Counter(
            "spark_job_messages_resent",
            "Job messages sent again because the broker lost them.",
            ["reason"],
        ),
        # livesum: tasks running now, summed over the worker's live pool processes.
        celery_tasks_active=Gauge(
            "spark_celery_tasks_active",
            "Tasks running now.",
            ["task"],
            multiprocess_mode="livesum",
        ),
        # livemax: the API's latest reading, forgetting processes that have exited.
        replica_lag=Gauge(
            "spark_db_replica_lag_seconds",
            "Seconds the read replica's replay is behind the primary.",
            multiprocess_mode="livemax",
        ),
        retention_deleted=Counter(
            "spark_retention_deleted", "Rows and partitions retention removed.", ["dataset"]
        ),
        rollup_hours=Counter("spark_rollup_hours", "Hours rolled up (again) into the rollups."),
        # livemax: 1 while any live process last saw the breaker open; an alert on it lasting
        # minutes means the dependency has stayed down past several half-open trials.
        breaker_open=Gauge(
            "spark_breaker_open",
            "1 while the circuit breaker holds calls back, else 0.",
            ["breaker"],
            multiprocess_mode="livemax",
        ),
        preview_cache_lookups=Counter(
            "spark_preview_cache_lookups", "Preview cache lookups by result.", ["result"]
        ),
        call_duration=Histogram(
            "spark_function_call_duration_seconds",
            "How long each LLM or tool call took, by name and status.",
            ["name", "status"],
            buckets=CALL_DURATION_BUCKETS,
        ),
        llm_tokens=Counter(
            "spark_llm_tokens",
            "LLM tokens spent, by model and direction (in|out).",
            ["model", "direction"],
        ),
        llm_cost=Counter(
            "spark_llm_cost", "What LLM calls cost (SPARK_PRICES' currency), by model.", ["model"]
        ),
        # livemostrecent: the latest reading by any live process (the relay runs in whichever
        # pool process takes it), not an old one a process took before the queue drained
        broker_queue_depth=Gauge(
            "spark_broker_queue_depth",
            "Job messages waiting in the broker, by queue.",
            ["queue"],
            multiprocess_mode="livemostrecent",
        ),
    )


def task_active(task: str, delta: int) -> None:
    """A task started (+1) or ended (-1) in this process."""
    _metrics().celery_tasks_active.labels(task).inc(delta)


def job_submitted(kind: str) -> None:
    """Count a job the API accepted (not an idempotent replay)."""
    _metrics().jobs_submitted.labels(kind).inc()


def job_finished(job: Job) -> None:
    """Count a terminal job and observe its run time and queue wait, where known."""
    m, kind = _metrics(), job.kind.value
    m.jobs_finished.labels(kind, job.state.value).inc()
    if job.started_at is not None and job.finished_at is not None:
        m.job_duration.labels(kind).observe(_seconds(job.started_at, job.finished_at))
    if job.started_at is not None:
        m.job_queue_wait.labels(kind).observe(_seconds(job.created_at, job.started_at))


def _seconds(start: datetime, end: datetime) -> float:
    # Clock skew between API and worker hosts must not produce negative observations.
    return max((end - start).total_seconds(), 0.0)


def messages_resent(reason: str, n: int) -> None:
    """Count job messages marked to go again: `broker_emptied` or `stranded` (taken by a
    worker that is gone)."""
    _metrics().messages_resent.labels(reason).inc(n)


def events_published(n: int = 1) -> None:
    """Count events the bus accepted."""
    _metrics().events_published.inc(n)


def events_failed(n: int = 1) -> None:
    """Count event publishes that failed (they wait in the outbox)."""
    _metrics().events_failed.inc(n)


def events_dead_lettered(n: int = 1) -> None:
    """Count events sent to the dead-letter queue."""
    _metrics().events_dead_lettered.inc(n)


def set_event_outbox_depth(n: int) -> None:
    """Record how many events wait in the outbox."""
    _metrics().event_outbox_depth.set(n)


def session_connected() -> None:
    """Count one session opened."""
    _metrics().session_connects.inc()


def set_sessions_active(n: int) -> None:
    """Record how many sessions are open now (all users)."""
    _metrics().sessions_active.set(n)


def set_broker_queue_depths(depths: dict[str, int]) -> None:
    """Record how many messages wait in each broker queue."""
    gauge = _metrics().broker_queue_depth
    for queue, n in depths.items():
        gauge.labels(queue).set(n)


def set_replica_lag(seconds: float) -> None:
    """Record how far the read replica's replay is behind the primary."""
    _metrics().replica_lag.set(seconds)


def retention_run(deleted: dict[str, int], hours_rolled: int) -> None:
    """Count what one retention run removed, per data set, and the hours it rolled up."""
    m = _metrics()
    for dataset, n in deleted.items():
        m.retention_deleted.labels(dataset).inc(n)
    m.rollup_hours.inc(hours_rolled)


def breaker_state(breaker: str, is_open: bool) -> None:
    """Record whether a circuit breaker is holding calls back."""
    _metrics().breaker_open.labels(breaker).set(1 if is_open else 0)


def preview_cache_lookup(hit: bool) -> None:
    """Count one preview cache lookup: a hit reuses a frame, a miss renders one."""
    _metrics().preview_cache_lookups.labels("hit" if hit else "miss").inc()


def call_made(
    name: str, status: str, seconds: float, model: str | None, tokens: tuple[int, int], cost: float
) -> None:
    """Observe one LLM or tool call's duration; an LLM call (model set) adds its tokens
    (in, out) and cost to the model's counters."""
    m = _metrics()
    m.call_duration.labels(name, status).observe(max(seconds, 0.0))
    if model is None:
        return
    m.llm_tokens.labels(model, "in").inc(tokens[0])
    m.llm_tokens.labels(model, "out").inc(tokens[1])
    m.llm_cost.labels(model).inc(cost)


def http_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one HTTP request and observe its latency."""
    m = _metrics()
    m.http_requests.labels(route, method, str(status)).inc()
    m.http_request_duration.labels(route, method).observe(seconds)


def celery_task(task: str, outcome: TaskOutcome) -> None:
    """Count one Celery task outcome."""
    _metrics().celery_tasks.labels(task, outcome).inc()


def multiprocess_mode() -> bool:
    """Whether values live in per-process files (prometheus-client multiprocess mode)."""
    return bool(os.environ.get(MULTIPROC_ENV))


def registry() -> CollectorRegistry:
    """The registry to expose: all processes' files in multiprocess mode, else this process."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    _metrics()  # so unlabelled metrics show 0 before their first event
    if not multiprocess_mode():
        return REGISTRY
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
    return merged


def render() -> tuple[bytes, str]:
    """The text exposition of registry() and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(registry()), CONTENT_TYPE_LATEST


def serve_http(port: int, host: str) -> None:
    """Serve registry() on http://host:port/metrics from a daemon thread."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=host, registry=registry())


def mark_process_dead(pid: int) -> None:
    """Drop a finished process's live gauges (multiprocess mode only)."""
    from prometheus_client import multiprocess

    if multiprocess_mode():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
