"""`make run`'s stack (SQLite, the file broker, a worker of two processes) killed outright with
jobs running and prefetched, then started again in the same folder: every accepted job ends
succeeded and is announced once."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.jobs import TURRET
from tests.support.services import free_port
from tests.support.stack import Up

JOBS = 8
#: jobs long enough to be caught running, and recovery timing short enough for a test (the
#: bounds under the default timing are the other chaos tests' subject)
TIMING = {
    "SPARK_OFFLINE_LATENCY_S": "1.5",
    "SPARK_HEARTBEAT_INTERVAL_S": "0.5",
    "SPARK_LEASE_S": "3",
    "SPARK_REAPER_INTERVAL_S": "1",
    "SPARK_RESCUE_AFTER_S": "2",
    "SPARK_RELAY_INTERVAL_S": "1",
    "SPARK_RELAY_MIN_AGE_S": "1",
}
TERMINAL = {"succeeded", "failed", "canceled", "timed_out"}


def claims(workdir: Path) -> list[Path]:
    """Job messages the file broker holds for a consumer that took them."""
    return list((workdir / "var" / "broker" / "processed").iterdir())


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_killed_stack_restarted_in_its_folder_ends_every_accepted_job_once(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "project"
    workdir.mkdir()
    first = Up(workdir, free_port(), **TIMING)
    headers = {"Authorization": f"Bearer {first.key}"}
    try:
        ids = []
        for _ in range(JOBS):
            resp = httpx.post(f"{first.url}/v1/jobs", json=TURRET, headers=headers, timeout=10)
            assert resp.status_code == 202, resp.text
            ids.append(resp.json()["id"])
        # two jobs running and one prefetched: the three kinds of loss a kill can cause
        wait_until(lambda: len(claims(workdir)) >= 3, 30, "the worker never took three jobs")
    finally:
        first.kill()
    second = Up(workdir, free_port(), **TIMING)
    try:
        url = second.url

        def jobs() -> list[dict[str, object]]:
            return [httpx.get(f"{url}/v1/jobs/{i}", headers=headers).json() for i in ids]

        wait_until(lambda: all(j["state"] in TERMINAL for j in jobs()), 90, "jobs left unended")
        ended = jobs()
        assert [j["state"] for j in ended] == ["succeeded"] * JOBS, ended
        assert any(int(str(j["attempts"])) >= 2 for j in ended), "the kill hit no running job"
        for job_id in ids:
            events = httpx.get(f"{url}/v1/jobs/{job_id}/events", headers=headers).json()
            types = [e["type"] for e in events["items"]]
            assert types.count("completed") == 1, types
        wait_until(lambda: not claims(workdir), 15, "claims of the dead worker left behind")
    finally:
        second.stop()
