"""`spark flower` monitors SPARK's real broker: it sees the workers and the jobs' tasks, behind basic auth."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.services import free_port
from tests.support.workers import FlowerProcess, WorkerProcess

USER, PASSWORD = "ops", "s3cret"
COIN = {
    "kind": "generate_script",
    "params": {"prompt": "a coin that spins and can be collected", "class_name": "Coin"},
}


def poll(fetch: Any, done: Any, what: str, timeout: float = 20.0) -> Any:
    """Call fetch until done(result) holds; returns that result."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = fetch()
            if done(last):
                return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout:.0f}s; last seen: {last!r}")


def alive_workers(ui: httpx.Client) -> dict[str, bool]:
    """The workers Flower knows from events, with whether each is alive."""
    resp = ui.get("/api/workers", params={"status": "true"})
    resp.raise_for_status()
    workers: dict[str, bool] = resp.json()
    return workers


@pytest.fixture(scope="module")
def flower(
    settings: Settings, worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FlowerProcess]:
    """Flower on a free port, already receiving the module worker's events."""
    proc = FlowerProcess(
        settings, Path(tmp_path_factory.mktemp("flower")), free_port(), f"{USER}:{PASSWORD}"
    )
    proc.start()
    try:
        assert worker.proc is not None
        # Flower only records tasks from events it receives, so wait for a worker heartbeat.
        prefix = f"spark{worker.proc.pid}@"
        with httpx.Client(base_url=proc.url, auth=(USER, PASSWORD), timeout=5.0) as ui:
            poll(
                lambda: alive_workers(ui),
                lambda seen: any(n.startswith(prefix) and up for n, up in seen.items()),
                f"Flower never saw worker {prefix}*",
            )
        yield proc
    finally:
        proc.stop()


def test_flower_lists_a_finished_job_as_a_successful_task(
    flower: FlowerProcess, client: TestClient, api_key: str, db: Database
) -> None:
    """A job run through the API shows up in Flower's /api/tasks under its job id, as SUCCESS."""
    resp = client.post("/v1/jobs", json=COIN, headers=auth(api_key))
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    assert wait_state(db, job_id, TERMINAL).state.value == "succeeded"
    with httpx.Client(base_url=flower.url, auth=(USER, PASSWORD), timeout=5.0) as ui:
        tasks = poll(
            lambda: ui.get("/api/tasks").raise_for_status().json(),
            lambda seen: seen.get(job_id, {}).get("state") == "SUCCESS",
            f"Flower never listed task {job_id} as SUCCESS",
        )
    assert tasks[job_id]["name"] == "spark.jobs.generate_script"
    assert tasks[job_id]["uuid"] == job_id


@pytest.mark.parametrize(
    "credentials",
    [None, (USER, "wrong"), ("intruder", PASSWORD)],
    ids=["none", "bad-password", "bad-user"],
)
def test_flower_api_refuses_requests_without_the_right_credentials(
    flower: FlowerProcess, credentials: tuple[str, str] | None
) -> None:
    """/api/tasks answers 401 unless the basic-auth user and password both match."""
    resp = httpx.get(f"{flower.url}/api/tasks", auth=credentials, timeout=5.0)
    assert resp.status_code == 401


def test_flower_never_logs_the_basic_auth_password(flower: FlowerProcess) -> None:
    """The password from SPARK_FLOWER_BASIC_AUTH appears nowhere in Flower's output."""
    assert "Visit me at" in flower.log()
    assert PASSWORD not in flower.log()
