"""`make run`'s stack (`spark up`: its own PostgreSQL, Valkey and NATS, the API, a worker of two
processes, the scheduler and the event consumer) killed outright, servers and all, with jobs
running and prefetched, then started again in the same folder: every accepted job ends once,
with one terminal event and one usage record."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import httpx
import redis

from spark.config import embedded_urls, remembered_ports
from spark.db.executor import Database
from tests.support.endings import TERMINAL_VALUES
from tests.support.jobs import TERMINAL, TURRET
from tests.support.ledger import assert_each_ended_once
from tests.support.services import free_port
from tests.support.stack import Up, up_folder

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
    # no metrics server: another run on this machine may hold the default port
    "SPARK_WORKER_METRICS_PORT": "0",
}


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def server_urls(workdir: Path) -> dict[str, str]:
    """The URLs of the servers `spark up` started in workdir (it remembers their ports)."""
    return embedded_urls(remembered_ports(workdir / "var"))


def taken(workdir: Path) -> int:
    """Job messages the worker took and has not acknowledged: running or prefetched."""
    with redis.Redis.from_url(server_urls(workdir)["broker_url"]) as client:
        return int(client.hlen("unacked"))


class Jobs:
    """The test's jobs as one `spark up`'s API shows them."""

    def __init__(self, up: Up) -> None:
        self.http = httpx.Client(base_url=up.url, headers={"Authorization": f"Bearer {up.key}"})
        self.ids: list[str] = []

    def submit(self, count: int) -> None:
        for _ in range(count):
            resp = self.http.post("/v1/jobs", json=TURRET, timeout=10)
            assert resp.status_code == 202, resp.text
            self.ids.append(resp.json()["id"])

    def close(self) -> None:
        self.http.close()

    def states(self) -> list[str]:
        return [str(job["state"]) for job in self.all()]

    def all(self) -> list[dict[str, object]]:
        return [self.http.get(f"/v1/jobs/{job_id}").json() for job_id in self.ids]

    def terminal_events(self, job_id: str) -> list[str]:
        items = self.http.get(f"/v1/jobs/{job_id}/events").json()["items"]
        return [e["type"] for e in items if e["type"] in TERMINAL_VALUES]

    def all_announced(self) -> bool:
        """Whether the consumer stored a terminal event of every job (a moment after its end)."""
        return all(self.terminal_events(job_id) for job_id in self.ids)


def submit_and_kill_while_running(workdir: Path) -> list[str]:
    """Start the stack, submit JOBS jobs, and kill everything once two run and more are
    prefetched; the job ids."""
    first = Up(workdir, free_port(), **TIMING)
    try:
        with closing(Jobs(first)) as jobs:
            jobs.submit(JOBS)
            # two running and more prefetched: the kinds of loss a kill can cause
            wait_until(lambda: jobs.states().count("running") >= 2, 30, "no two jobs ran")
            wait_until(lambda: taken(workdir) >= 3, 10, "the worker prefetched no job")
            return jobs.ids
    finally:
        first.kill()


def assert_each_ended_once_after_restart(second: Up, workdir: Path, ids: list[str]) -> None:
    """Every job succeeded, one of them on a second attempt, with one terminal event and one
    usage record each, and no delivery of the killed worker left in the broker."""
    with closing(Jobs(second)) as jobs:  # its new key is the same local user's
        jobs.ids = ids
        wait_until(lambda: set(jobs.states()) <= TERMINAL, 90, "jobs left unended")
        ended = jobs.all()
        assert [j["state"] for j in ended] == ["succeeded"] * JOBS, ended
        assert any(int(str(j["attempts"])) >= 2 for j in ended), "the kill hit no running job"
        wait_until(jobs.all_announced, 15, "a job's terminal event was never stored")
        assert all(jobs.terminal_events(job_id) == ["completed"] for job_id in ids)
    db = Database(server_urls(workdir)["database_url"])
    try:
        assert_each_ended_once(db, ids)
    finally:
        db.close()
    wait_until(lambda: taken(workdir) == 0, 15, "deliveries of the dead worker left")


def test_a_killed_stack_restarted_in_its_folder_ends_every_accepted_job_once() -> None:
    folder = up_folder()
    workdir = folder / "project"
    workdir.mkdir()
    try:
        ids = submit_and_kill_while_running(workdir)
        second = Up(workdir, free_port(), **TIMING)
        try:
            assert_each_ended_once_after_restart(second, workdir, ids)
        finally:
            second.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
