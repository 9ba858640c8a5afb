"""Every Grafana panel and alert expression references only metrics SPARK exports, scraped
from a running `spark api` and a running `spark worker` after real jobs have run."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.build import committed_expressions
from deploy.promql import metric_names
from spark.config import Settings
from spark.db.executor import Database
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.services import free_port
from tests.support.workers import ApiProcess, WorkerProcess

JOB = {
    "kind": "generate_script",
    "params": {"prompt": "a door that opens when the player is near", "class_name": "Door"},
}
#: the series names a family of each type exposes (prometheus-client, text format 0.0.4:
#: a counter's TYPE line already ends in _total; a histogram's names its base)
SUFFIXES = {"counter": ("",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
_TYPE = re.compile(r"^# TYPE (\S+) (\S+)$", re.MULTILINE)
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", re.MULTILINE)


#: labelled metrics that have no series until their event happens, which two generation jobs
#: do not cause: the scrape shows them only as # TYPE (the API's single-process registry
#: declares every metric; a worker's multiprocess files hold only what was recorded)
EVENT_DRIVEN = {
    "spark_breaker_open": "a circuit breaker is used",
    "spark_preview_cache_lookups_total": "a render_preview job looks up the cache",
    "spark_job_messages_resent_total": "the rescue task sends a lost message again",
    "spark_db_replica_lag_seconds": "a read replica is configured",
    "spark_retention_deleted_total": "the hourly retention run removes something",
    "spark_broker_queue_depth": "the beat's relay pass reads the broker's queues",
}


def exposed_names(text: str) -> set[str]:
    """Series names an exposition offers: every sample's name, and for every family it
    declares (# TYPE, shown even before a labelled metric has its first series) the names
    its type exposes."""
    declared = {
        name + suffix for name, kind in _TYPE.findall(text) for suffix in SUFFIXES.get(kind, ("",))
    }
    return declared | set(_SAMPLE.findall(text))


def missing(referenced: set[str], exposed: set[str]) -> set[str]:
    """Referenced names that no scrape offers."""
    return referenced - exposed


@pytest.fixture(scope="module")
def api(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    proc = ApiProcess(settings, Path(tmp_path_factory.mktemp("dash-api")), free_port())
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def worker(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A prefork worker; yields the URL of its /metrics."""
    port = free_port()
    workdir = Path(tmp_path_factory.mktemp("dash-worker"))
    proc = WorkerProcess(settings, workdir, SPARK_WORKER_METRICS_PORT=str(port))
    proc.start()
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        proc.stop()


@pytest.fixture
def scrapes(api: ApiProcess, worker: str, api_key: str, db: Database) -> dict[str, str]:
    """/metrics of the API and of the worker after two jobs ran to the end."""
    ids = []
    for _ in range(2):
        resp = httpx.post(f"{api.url}/v1/jobs", json=JOB, headers=auth(api_key), timeout=10)
        assert resp.status_code == 202, resp.text
        ids.append(resp.json()["id"])
    for job_id in ids:
        assert wait_state(db, job_id, TERMINAL).state.value == "succeeded"
    return {
        "api": httpx.get(f"{api.url}/metrics", timeout=5).text,
        "worker": _worker_scrape_with_jobs(worker),
    }


def _worker_scrape_with_jobs(url: str) -> str:
    """The worker's /metrics once its job signals have recorded the finished jobs."""
    for _ in range(100):
        text = httpx.get(url, timeout=5).text
        if 'spark_jobs_finished_total{kind="generate_script",state="succeeded"}' in text:
            return text
        time.sleep(0.1)
    raise AssertionError("the worker never exported its finished jobs")


def referenced() -> set[str]:
    return {name for expr in committed_expressions() for name in metric_names(expr)}


def test_every_panel_and_alert_references_only_metrics_spark_exports(
    scrapes: dict[str, str],
) -> None:
    exposed = exposed_names(scrapes["api"]) | exposed_names(scrapes["worker"])
    assert missing(referenced(), exposed) == set()


def test_the_job_metrics_the_dashboards_read_carry_samples_not_only_declarations(
    scrapes: dict[str, str],
) -> None:
    """The jobs that ran produced real series on the worker and the API, not just # TYPE lines."""
    worker_samples = set(_SAMPLE.findall(scrapes["worker"]))
    api_samples = set(_SAMPLE.findall(scrapes["api"]))
    assert {
        "spark_jobs_finished_total",
        "spark_job_duration_seconds_bucket",
        "spark_job_queue_wait_seconds_bucket",
        "spark_celery_tasks_total",
    } <= worker_samples
    assert {"spark_jobs_submitted_total", "spark_http_requests_total"} <= api_samples


def test_only_event_driven_metrics_are_declared_without_samples(scrapes: dict[str, str]) -> None:
    """Every referenced metric has real series after the jobs, except those whose event did not happen."""
    samples = set(_SAMPLE.findall(scrapes["api"])) | set(_SAMPLE.findall(scrapes["worker"]))
    assert referenced() - samples <= set(EVENT_DRIVEN)


def test_a_wrong_name_or_suffix_is_reported_missing(scrapes: dict[str, str]) -> None:
    """A misspelt metric, a counter without _total and a histogram read as a counter are all caught."""
    exposed = exposed_names(scrapes["api"]) | exposed_names(scrapes["worker"])
    wrong = {"spark_jobs_finshed_total", "spark_jobs_finished", "spark_job_duration_seconds_total"}
    expr = " + ".join(f"sum(rate({name}[5m]))" for name in sorted(wrong))
    assert missing(metric_names(expr), exposed) == wrong
