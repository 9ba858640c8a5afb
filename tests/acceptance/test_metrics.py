"""Prometheus metrics: the API's /metrics counts submissions and requests; a prefork worker's
own /metrics adds up job outcomes from all its processes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from spark.metrics import JOB_DURATION_BUCKETS
from spark.worker.metrics import multiprocess_dir
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.services import free_port
from tests.support.workers import WorkerProcess

COIN = {
    "kind": "generate_script",
    "params": {"prompt": "a coin that spins and can be collected", "class_name": "Coin"},
}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; a series not exported yet counts as 0."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How far one series moved between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


def scrape_api(client: TestClient) -> Samples:
    """The API's /metrics, fetched without credentials."""
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    return parse(resp.text)


def submit(client: TestClient, key: str, idempotency_key: str | None = None) -> Any:
    """POST the coin job; returns the response."""
    headers = auth(key) | ({"Idempotency-Key": idempotency_key} if idempotency_key else {})
    return client.post("/v1/jobs", json=COIN, headers=headers)


@dataclass(frozen=True)
class MetricsWorker:
    """A running worker and where its metrics server answers."""

    proc: WorkerProcess
    url: str

    def scrape(self) -> Samples:
        """The worker's /metrics."""
        resp = httpx.get(self.url, timeout=5.0)
        assert resp.status_code == 200
        return parse(resp.text)


@pytest.fixture(scope="module")
def metrics_worker(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MetricsWorker]:
    """A prefork worker (two children) of this module's own, serving /metrics on a free port."""
    port = free_port()
    workdir = Path(tmp_path_factory.mktemp("metrics-worker"))
    proc = WorkerProcess(settings, workdir, SPARK_WORKER_METRICS_PORT=str(port))
    proc.start()
    try:
        yield MetricsWorker(proc, f"http://127.0.0.1:{port}/metrics")
    finally:
        proc.stop()


def test_submissions_and_requests_are_counted_by_kind_and_route_template(
    client: TestClient, api_key: str
) -> None:
    """Five accepted jobs add exactly 5 to the submitted counter and to POST /v1/jobs 202s; a GET is labelled by its template."""
    before = scrape_api(client)
    ids = []
    for _ in range(5):
        resp = submit(client, api_key)
        assert resp.status_code == 202
        ids.append(resp.json()["id"])
    assert client.get(f"/v1/jobs/{ids[0]}", headers=auth(api_key)).status_code == 200
    after = scrape_api(client)
    post = {"route": "/v1/jobs", "method": "POST"}
    assert delta(before, after, "spark_jobs_submitted_total", kind="generate_script") == 5
    assert delta(before, after, "spark_http_requests_total", **post, status="202") == 5
    assert delta(before, after, "spark_http_request_duration_seconds_count", **post) == 5
    get = {"route": "/v1/jobs/{job_id}", "method": "GET", "status": "200"}
    assert delta(before, after, "spark_http_requests_total", **get) == 1
    label_values = {v for _, labels in after for _, v in labels}
    assert not any(job_id in v for job_id in ids for v in label_values)


def test_an_idempotent_replay_is_not_counted_as_a_submission(
    client: TestClient, api_key: str
) -> None:
    """Replaying a key with the same body answers 202 again, but the submitted counter moves only once."""
    key = f"metrics-{uuid.uuid4()}"
    before = scrape_api(client)
    first = submit(client, api_key, key)
    replay = submit(client, api_key, key)
    after = scrape_api(client)
    assert first.status_code == replay.status_code == 202
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert delta(before, after, "spark_jobs_submitted_total", kind="generate_script") == 1
    posts = {"route": "/v1/jobs", "method": "POST", "status": "202"}
    assert delta(before, after, "spark_http_requests_total", **posts) == 2


FINISHED = ("spark_jobs_finished_total", {"kind": "generate_script", "state": "succeeded"})
DURATIONS = ("spark_job_duration_seconds_count", {"kind": "generate_script"})
WAITS = ("spark_job_queue_wait_seconds_count", {"kind": "generate_script"})


def wait_for_counts(
    worker: MetricsWorker, before: Samples, expected: float, timeout: float = 10.0
) -> Samples:
    """Scrape until every job series has moved by expected (signals run just after the commit)."""
    deadline = time.monotonic() + timeout
    while True:
        now = worker.scrape()
        moved = [
            delta(before, now, name, **labels) for name, labels in (FINISHED, DURATIONS, WAITS)
        ]
        if min(moved) >= expected or time.monotonic() > deadline:
            return now
        time.sleep(0.1)


def test_worker_metrics_add_up_finished_jobs_across_prefork_children(
    client: TestClient, api_key: str, db: Database, metrics_worker: MetricsWorker
) -> None:
    """Four succeeded jobs move finished, duration and queue-wait counts on the worker's /metrics by exactly 4."""
    before = metrics_worker.scrape()
    ids = [submit(client, api_key).json()["id"] for _ in range(4)]
    for job_id in ids:
        assert wait_state(db, job_id, TERMINAL).state.value == "succeeded"
    after = wait_for_counts(metrics_worker, before, 4)
    for name, labels in (FINISHED, DURATIONS, WAITS):
        assert delta(before, after, name, **labels) == 4, name
    buckets = {
        float(dict(labels)["le"])
        for name, labels in after
        if name == "spark_job_duration_seconds_bucket" and ("kind", "generate_script") in labels
    }
    assert buckets == {*JOB_DURATION_BUCKETS, float("inf")}
    succeeded = {"task": "spark.jobs.generate_script", "outcome": "succeeded"}
    assert value(after, "spark_celery_tasks_total", **succeeded) >= 4


def test_a_stopped_worker_removes_its_metrics_folder(settings: Settings, tmp_path: Path) -> None:
    """The folder of per-process metric files lives as long as the worker that made it."""
    proc = WorkerProcess(settings, tmp_path, SPARK_WORKER_METRICS_PORT="0")
    proc.start()
    try:
        assert proc.proc is not None
        folder = multiprocess_dir(settings, proc.proc.pid)
        assert folder.is_dir()
    finally:
        proc.stop()
    assert not folder.exists()
