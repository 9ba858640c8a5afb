"""One log format across processes: a request's id reaches the API's and the worker's JSON
lines for its job, and what the caller sent is scrubbed from every line."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spark.config import Settings
from tests.support.jobs import auth
from tests.support.services import free_port
from tests.support.workers import SparkProcess, WorkerProcess

EMAIL = "alice@example.com"
KEY = "spk_0123456789abcdef_Zq3vN8xYp2LmK7wR4tHs9cBd6FgJ1aE5"
TERMINAL = {"succeeded", "failed", "canceled", "timed_out"}


class LoggingApi(SparkProcess):
    """`spark api` as operators run it (access log on), logging at DEBUG."""

    ready_marker = "Uvicorn running on"

    def __init__(self, settings: Settings, workdir: Path, port: int) -> None:
        args = ["api", "--port", str(port), "--workers", "1"]
        super().__init__(settings, workdir, args, SPARK_LOG_LEVEL="DEBUG")
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def api(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggingApi]:
    proc = LoggingApi(settings, tmp_path_factory.mktemp("api-logs"), free_port())
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def debug_worker(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    proc = WorkerProcess(
        settings, tmp_path_factory.mktemp("worker-logs"), concurrency=1, SPARK_LOG_LEVEL="DEBUG"
    )
    proc.start()
    yield proc
    proc.stop()


def json_lines(proc: SparkProcess) -> list[dict[str, Any]]:
    """Every line the process wrote (stdout and stderr, not a terminal), each parsed as JSON."""
    parsed = []
    for number, line in enumerate(proc.log().splitlines(), 1):
        try:
            parsed.append(json.loads(line))
        except ValueError:
            what = f"line {number} of spark {proc.args[0]} is not JSON: {line!r}"
            raise AssertionError(what) from None
    return parsed


def about(lines: list[dict[str, Any]], request_id: str, job_id: str) -> list[dict[str, Any]]:
    return [x for x in lines if x.get("request_id") == request_id and x.get("job_id") == job_id]


def test_a_request_id_reaches_api_and_worker_lines_and_secrets_reach_none(
    api: LoggingApi, debug_worker: WorkerProcess, api_key: str
) -> None:
    """X-Request-ID r-123 is on the API's and the worker's JSON lines for the job it submitted;
    the e-mail address and the spk_ key in its prompt are on no line of either process."""
    prompt = f"a mailbox UI that greets {EMAIL} and never shows the key {KEY}"
    body = {"kind": "generate_script", "params": {"prompt": prompt, "class_name": "Mailbox"}}
    headers = {**auth(api_key), "X-Request-ID": "r-123"}
    with httpx.Client(base_url=api.url, timeout=10) as http:
        resp = http.post("/v1/jobs", json=body, headers=headers)
        assert resp.status_code == 202 and resp.headers["x-request-id"] == "r-123"
        job_id = resp.json()["id"]
        deadline = time.monotonic() + 30
        while http.get(f"/v1/jobs/{job_id}", headers=auth(api_key)).json()["state"] not in TERMINAL:
            assert time.monotonic() < deadline, "the job did not finish"
            time.sleep(0.05)
    # Celery's line about the task's outcome follows the job's end by a moment.
    deadline = time.monotonic() + 10
    while not about(json_lines(debug_worker), "r-123", job_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    api_lines, worker_lines = json_lines(api), json_lines(debug_worker)
    assert about(api_lines, "r-123", job_id), "no API line names the request and the job"
    assert about(worker_lines, "r-123", job_id), "no worker line names the request and the job"
    everything = api.log() + debug_worker.log()
    assert EMAIL not in everything and KEY not in everything
    # The prompt was logged (at DEBUG) by both, scrubbed: the check above is not vacuous.
    for lines in (api_lines, worker_lines):
        assert any("[email]" in x["message"] and "[api_key]" in x["message"] for x in lines)


def test_every_response_carries_a_request_id(api: LoggingApi, api_key: str) -> None:
    """Accepted, refused and unknown alike: the caller's id echoed, or a new one."""
    with httpx.Client(base_url=api.url, timeout=10) as http:
        given = {"X-Request-ID": "r-777"}
        assert http.get("/v1/jobs", headers=given).headers["x-request-id"] == "r-777"  # 401
        missing = http.get("/v1/nowhere", headers={**auth(api_key), **given})
        assert missing.status_code == 404 and missing.headers["x-request-id"] == "r-777"
        fresh = http.get("/v1/health")
        assert len(fresh.headers["x-request-id"]) == 32
