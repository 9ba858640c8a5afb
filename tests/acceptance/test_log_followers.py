"""`spark jobs logs` against `spark api`, with a log written as a builder on another host
writes it: through the suite's Redis and the storage directory, never the API's memory."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from spark.config import Settings
from spark.storage.factory import make_blobs
from spark.storage.live_logs import LiveLogStore, make_log_store
from tests.support.endings import wait_for
from tests.support.jobs import auth
from tests.support.workers import ApiProcess


class Follower:
    """`spark jobs logs …` as a user runs it, its output collected line by line."""

    def __init__(self, api: ApiProcess, key: str, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_")}
        env |= {"SPARK_API_URL": api.url, "SPARK_API_KEY": key}
        spark = str(Path(sys.executable).parent / "spark")
        self.proc = subprocess.Popen(
            [spark, "jobs", "logs", *args], env=env, stdout=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))

    def wait(self) -> int:
        code = self.proc.wait(timeout=60)
        self._reader.join(10)
        return code


@pytest.fixture
def store(settings: Settings) -> LiveLogStore:
    """The log store a builder has: the suite's Redis and the API's storage."""
    return make_log_store(settings, make_blobs(settings))


@pytest.fixture
def queued_job(api_server: ApiProcess, api_key: str) -> Iterator[str]:
    """A job no worker takes (none runs here), canceled afterwards if still queued."""
    body = {"kind": "generate_script", "params": {"prompt": "a coin that spins in place"}}
    with httpx.Client(base_url=api_server.url, headers=auth(api_key), timeout=10) as http:
        job_id: str = http.post("/v1/jobs", json=body).json()["id"]
        yield job_id
        http.post(f"/v1/jobs/{job_id}/cancel")


def cancel(api: ApiProcess, key: str, job_id: str) -> None:
    answer = httpx.post(f"{api.url}/v1/jobs/{job_id}/cancel", headers=auth(key), timeout=10)
    assert answer.status_code == 200, answer.text


def test_logs_prints_a_log_longer_than_a_page_whole(
    api_server: ApiProcess, api_key: str, queued_job: str, store: LiveLogStore
) -> None:
    """12,001 lines come in pages of at most 10,000: the command prints them all."""
    lines = [f"Compiling {n}" for n in range(12_000)]
    with store.open_writer(uuid.UUID(queued_job), 1) as log:
        for line in lines:
            log.write(line)
    follower = Follower(api_server, api_key, queued_job)
    assert follower.wait() == 0
    assert follower.lines == ["[spark] attempt 1", *lines]


def test_a_follower_starts_over_when_a_new_attempt_begins_the_log_afresh(
    api_server: ApiProcess, api_key: str, queued_job: str, store: LiveLogStore
) -> None:
    """The retry's log is shorter than the follower's offset: it reads it from its first line,
    and stops once the job has ended and its log is read."""
    job_id = uuid.UUID(queued_job)
    first = store.open_writer(job_id, 1)
    for n in range(5):
        first.write(f"first try {n}")
    follower = Follower(api_server, api_key, queued_job, "--follow")
    wait_for(lambda: "first try 4" in follower.lines, "the first attempt's lines")
    with store.open_writer(job_id, 2) as retry:
        retry.write("second try")
    first.close()
    wait_for(lambda: "second try" in follower.lines, "the second attempt's lines")
    cancel(api_server, api_key, queued_job)
    assert follower.wait() == 0
    first_try = ["[spark] attempt 1", *(f"first try {n}" for n in range(5))]
    assert follower.lines == [*first_try, "[spark] attempt 2", "second try"]
