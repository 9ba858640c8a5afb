"""Services restarted under SPARK: a broker that comes back empty with jobs queued, and
Postgres stopped and started under a POST/GET load. SPARK itself is never restarted."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from tests.support.chaos import postgres_stopped, restart_redis_empty
from tests.support.jobs import TURRET, auth
from tests.support.ledger import assert_each_ended_once, wait_all_terminal
from tests.support.services import SuiteStack, free_port
from tests.support.workers import ApiProcess, BeatProcess, WorkerProcess


def test_a_broker_restarted_empty_with_three_hundred_jobs_queued_runs_them_all_within_a_minute(
    client: TestClient,
    api_key: str,
    db: Database,
    default_timing: Settings,
    servers: SuiteStack,
    tmp_path: Path,
) -> None:
    """The relay sees the broker's lost marker and sends every queued job once more."""
    ids = []
    for _ in range(300):
        resp = client.post("/v1/jobs", json=TURRET, headers=auth(api_key))
        assert resp.status_code == 202
        ids.append(resp.json()["id"])
    restart_redis_empty(servers)
    worker = WorkerProcess(default_timing, tmp_path)
    beat = BeatProcess(default_timing, tmp_path)
    try:
        worker.start()
        beat.start()
        took = wait_all_terminal(db, ids, timeout=60)
    finally:
        beat.stop()
        worker.stop()
    assert_each_ended_once(db, ids)
    print(f"300 jobs ended {took:.1f}s after the worker started")


class Load:
    """Submits and polls jobs through a real API process from a thread, noting each answer."""

    def __init__(self, url: str, key: str) -> None:
        self.http = httpx.Client(base_url=url, headers=auth(key), timeout=10.0)
        self.statuses: Counter[int] = Counter()
        self.without_retry_after = 0
        self.accepted: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _note(self, resp: httpx.Response) -> None:
        self.statuses[resp.status_code] += 1
        if resp.status_code == 503 and "retry-after" not in resp.headers:
            self.without_retry_after += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                posted = self.http.post("/v1/jobs", json=TURRET)
                self._note(posted)
                if posted.status_code == 202:
                    self.accepted.append(posted.json()["id"])
                if self.accepted:
                    self._note(self.http.get(f"/v1/jobs/{self.accepted[-1]}"))
            except httpx.TransportError:
                self.statuses[0] += 1
            time.sleep(0.01)

    def run_for(self, seconds: float) -> Counter[int]:
        """Statuses answered over the next seconds."""
        before = self.statuses.copy()
        time.sleep(seconds)
        return self.statuses - before

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(15)
        self.http.close()


def test_postgres_restarted_under_load_answers_503_with_retry_after_and_recovers(
    api_key: str, db: Database, settings: Settings, servers: SuiteStack, tmp_path: Path
) -> None:
    """Never a 500 or a dropped connection; SPARK's processes recover on their own."""
    api = ApiProcess(settings, tmp_path, free_port())
    worker = WorkerProcess(settings, tmp_path)
    beat = BeatProcess(settings, tmp_path)
    for proc in (api, worker, beat):
        proc.start()
    try:
        with Load(api.url, api_key) as load:
            assert load.run_for(3)[202] > 0
            with postgres_stopped(servers):
                down = load.run_for(5)
            recovery = time.monotonic()
            while load.run_for(1)[202] == 0:
                assert time.monotonic() - recovery < 30, "no submission accepted after restart"
            after = load.run_for(3)
        db.close()  # the test's own connections died with the server
        wait_all_terminal(db, load.accepted, timeout=60)
        assert all(proc.proc and proc.proc.poll() is None for proc in (api, worker, beat))
    finally:
        for proc in (beat, worker, api):
            proc.stop()
    assert down[503] > 0, down
    served = set(load.statuses)
    assert served <= {200, 202, 503}, load.statuses
    assert load.without_retry_after == 0
    assert set(after) <= {200, 202}, after
    assert_each_ended_once(db, load.accepted)
    print(
        f"answers while Postgres was down: {dict(down)}; over the whole run: {dict(load.statuses)}"
    )
