"""What SPARK's dashboards show and what its alerts watch: the one place to change either.

Every expression uses only metrics defined in spark/metrics.py; the acceptance test
tests/acceptance/test_dashboard_metrics.py scrapes a running API and worker to prove it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: failed and timed-out jobs count as errors; canceled ones were asked for
ERRORS = 'state=~"failed|timed_out"'
#: builds run for minutes to hours, so latency panels and the p95 alert leave them out
NOT_BUILDS = 'kind!="unity_build"'
LLM_KINDS = 'kind=~"generate_script|generate_asset"'
BUILD_KINDS = 'kind=~"unity_build|export_package"'
PREVIEWS = 'kind="render_preview"'
HITS = 'result="hit"'
SERVER_ERRORS = 'status=~"5.."'
#: the alert SparkLlmCostPerDayHigh fires when a day's LLM calls cost more than this, in the
#: currency of SPARK_PRICES; change it here and run `python -m deploy.build`
COST_PER_DAY_LIMIT = 50


@dataclass(frozen=True)
class Panel:
    """One graph: its title, queries (legend, expr) and display unit."""

    title: str
    queries: tuple[tuple[str, str], ...]
    unit: str = "short"
    kind: str = "timeseries"


@dataclass(frozen=True)
class Dashboard:
    """A file under deploy/grafana/dashboards/ named after its uid."""

    uid: str
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Alert:
    """One Prometheus alerting rule."""

    name: str
    expr: str
    duration: str
    severity: str
    summary: str


def _rate(metric: str, selector: str = "", by: str = "", window: str = "5m") -> str:
    grouping = f" by ({by})" if by else ""
    sel = f"{{{selector}}}" if selector else ""
    return f"sum{grouping} (rate({metric}{sel}[{window}]))"


def _p95(metric: str, selector: str = "", by: str = "") -> str:
    labels = ", ".join(["le", *([by] if by else [])])
    return f"histogram_quantile(0.95, {_rate(metric, selector, labels)})"


def error_ratio(selector: str = "", by: str = "", window: str = "5m") -> str:
    """Failed and timed-out jobs over all finished jobs (NaN, so no alert, when none ended)."""
    errors = ", ".join(s for s in (ERRORS, selector) if s)
    finished = "spark_jobs_finished_total"
    return f"{_rate(finished, errors, by, window)} / {_rate(finished, selector, by, window)}"


COST_PER_DAY = "sum(increase(spark_llm_cost_total[1d]))"

PREVIEW_HIT_RATIO = (
    f"{_rate('spark_preview_cache_lookups_total', HITS, window='30m')}"
    f" / {_rate('spark_preview_cache_lookups_total', window='30m')}"
)

JOBS = Dashboard(
    "spark-jobs",
    "SPARK / Jobs",
    (
        Panel(
            "Submitted per second by kind",
            (("{{kind}}", _rate("spark_jobs_submitted_total", by="kind")),),
            "ops",
        ),
        Panel(
            "Finished per second by state",
            (("{{state}}", _rate("spark_jobs_finished_total", by="state")),),
            "ops",
        ),
        Panel("Error rate by kind", (("{{kind}}", error_ratio(by="kind")),), "percentunit"),
        Panel(
            "p95 run time by kind",
            (("{{kind}}", _p95("spark_job_duration_seconds_bucket", NOT_BUILDS, "kind")),),
            "s",
        ),
        Panel(
            "Preview success rate (1 h)",
            (("render_preview", f"1 - ({error_ratio(PREVIEWS, window='1h')})"),),
            "percentunit",
            "stat",
        ),
        Panel(
            "Preview cache hit rate (30 m)",
            (("hit rate", PREVIEW_HIT_RATIO),),
            "percentunit",
            "stat",
        ),
        Panel(
            "Slowest kinds, p95 (top 10)",
            (("{{kind}}", f"topk(10, {_p95('spark_job_duration_seconds_bucket', by='kind')})"),),
            "s",
        ),
    ),
)

QUEUES = Dashboard(
    "spark-queues",
    "SPARK / Queues",
    (
        Panel(
            "p95 queue wait by kind",
            (("{{kind}}", _p95("spark_job_queue_wait_seconds_bucket", by="kind")),),
            "s",
        ),
        Panel("Tasks running now", (("{{task}}", "sum by (task) (spark_celery_tasks_active)"),)),
        Panel(
            "Task outcomes per second",
            (("{{task}} {{outcome}}", _rate("spark_celery_tasks_total", by="task, outcome")),),
            "ops",
        ),
        Panel(
            "Job messages sent again",
            (("{{reason}}", _rate("spark_job_messages_resent_total", by="reason", window="15m")),),
            "ops",
        ),
        Panel(
            "Messages waiting in the broker by queue",
            (("{{queue}}", "max by (queue) (spark_broker_queue_depth)"),),
        ),
        Panel(
            "Backlog growth (submitted - finished)",
            (
                (
                    "jobs/s",
                    f"{_rate('spark_jobs_submitted_total')} - {_rate('spark_jobs_finished_total')}",
                ),
            ),
            "ops",
        ),
    ),
)

LLM = Dashboard(
    "spark-llm",
    "SPARK / LLM",
    (
        Panel(
            "Generation jobs per second by state",
            (("{{kind}} {{state}}", _rate("spark_jobs_finished_total", LLM_KINDS, "kind, state")),),
            "ops",
        ),
        Panel(
            "Generation error rate", (("{{kind}}", error_ratio(LLM_KINDS, "kind")),), "percentunit"
        ),
        Panel(
            "Generation p95 run time",
            (("{{kind}}", _p95("spark_job_duration_seconds_bucket", LLM_KINDS, "kind")),),
            "s",
        ),
        Panel(
            "Circuit breakers open",
            (("{{breaker}}", "max by (breaker) (spark_breaker_open)"),),
            "bool",
        ),
        Panel(
            "Tokens per second by model",
            (
                (
                    "{{model}} {{direction}}",
                    _rate("spark_llm_tokens_total", by="model, direction"),
                ),
            ),
            "short",
        ),
        Panel(
            "Cost per hour by model",
            (("{{model}}", "sum by (model) (increase(spark_llm_cost_total[1h]))"),),
        ),
        Panel("Cost over the last 24 h", (("cost", COST_PER_DAY),), "short", "stat"),
        Panel(
            "Calls per second by name and status",
            (
                (
                    "{{name}} {{status}}",
                    _rate("spark_function_call_duration_seconds_count", by="name, status"),
                ),
            ),
            "ops",
        ),
        Panel(
            "p95 call duration by name",
            (("{{name}}", _p95("spark_function_call_duration_seconds_bucket", by="name")),),
            "s",
        ),
        Panel("Sessions open now", (("sessions", "max(spark_sessions_active)"),), "short", "stat"),
    ),
)

BUILDS = Dashboard(
    "spark-builds",
    "SPARK / Builds",
    (
        Panel(
            "Build jobs by state (1 h)",
            (
                (
                    "{{kind}} {{state}}",
                    "sum by (kind, state) "
                    f"(increase(spark_jobs_finished_total{{{BUILD_KINDS}}}[1h]))",
                ),
            ),
        ),
        Panel(
            "Build p95 run time",
            (("{{kind}}", _p95("spark_job_duration_seconds_bucket", BUILD_KINDS, "kind")),),
            "s",
        ),
        Panel(
            "Build p95 queue wait",
            (("{{kind}}", _p95("spark_job_queue_wait_seconds_bucket", BUILD_KINDS, "kind")),),
            "s",
        ),
        Panel(
            "Builds running now",
            (
                (
                    "builds",
                    'sum(spark_celery_tasks_active{task=~"spark.jobs.(unity_build|export_package)"})',
                ),
            ),
        ),
    ),
)

EVENTS = Dashboard(
    "spark-events",
    "SPARK / Events",
    (
        Panel(
            "Events published per second",
            (("published", _rate("spark_events_published_total")),),
            "ops",
        ),
        Panel(
            "Publish failures and dead letters",
            (
                ("failed", _rate("spark_events_failed_total")),
                ("dead-lettered", _rate("spark_events_dead_lettered_total")),
            ),
            "ops",
        ),
        Panel("Outbox depth", (("waiting", "max(spark_event_outbox_depth)"),)),
        Panel("Read replica lag", (("lag", "max(spark_db_replica_lag_seconds)"),), "s"),
        Panel(
            "Retention: removed per hour",
            (
                (
                    "{{dataset}}",
                    "sum by (dataset) (increase(spark_retention_deleted_total[1h]))",
                ),
            ),
        ),
        Panel(
            "Rollups: hours rolled up per hour",
            (("hours", "sum(increase(spark_rollup_hours_total[1h]))"),),
        ),
    ),
)

API = Dashboard(
    "spark-api",
    "SPARK / API",
    (
        Panel(
            "Requests per second by route",
            (("{{method}} {{route}}", _rate("spark_http_requests_total", by="route, method")),),
            "reqps",
        ),
        Panel(
            "5xx ratio",
            (
                (
                    "5xx",
                    f"{_rate('spark_http_requests_total', SERVER_ERRORS)}"
                    f" / {_rate('spark_http_requests_total')}",
                ),
            ),
            "percentunit",
        ),
        Panel(
            "Responses by status",
            (("{{status}}", _rate("spark_http_requests_total", by="status")),),
            "reqps",
        ),
        Panel(
            "p95 latency by route",
            (
                (
                    "{{method}} {{route}}",
                    _p95("spark_http_request_duration_seconds_bucket", by="route, method"),
                ),
            ),
            "s",
        ),
    ),
)

DASHBOARDS = (JOBS, QUEUES, LLM, BUILDS, EVENTS, API)

ALERTS = (
    Alert(
        "SparkJobErrorRateHigh",
        f"({error_ratio(window='10m')}) > 0.05",
        "10m",
        "warning",
        "More than 5 % of finished jobs failed or timed out over 10 minutes.",
    ),
    Alert(
        "SparkJobErrorRateCritical",
        f"({error_ratio(window='10m')}) > 0.10",
        "5m",
        "page",
        "More than 10 % of finished jobs failed or timed out over 10 minutes.",
    ),
    Alert(
        "SparkCircuitBreakerOpen",
        "max by (breaker) (spark_breaker_open) == 1",
        "5m",
        "page",
        "Circuit breaker {{ $labels.breaker }} has held calls back for more than 5 minutes.",
    ),
    Alert(
        "SparkJobP95DurationHigh",
        f"{_p95('spark_job_duration_seconds_bucket', NOT_BUILDS, 'kind')} > 10",
        "10m",
        "warning",
        "p95 run time of {{ $labels.kind }} jobs is above 10 s.",
    ),
    Alert(
        "SparkPreviewCacheHitRateLow",
        f"({PREVIEW_HIT_RATIO}) < 0.5",
        "30m",
        "warning",
        "Fewer than half of preview renders are served from the cache.",
    ),
    Alert(
        "SparkLlmCostPerDayHigh",
        f"{COST_PER_DAY} > {COST_PER_DAY_LIMIT}",
        "15m",
        "warning",
        f"LLM calls cost more than {COST_PER_DAY_LIMIT} over the last 24 hours.",
    ),
    Alert(
        "SparkReplicaLagHigh",
        "max(spark_db_replica_lag_seconds) > 30",
        "5m",
        "warning",
        "The read replica is more than 30 s behind the primary; reads may be stale.",
    ),
)
