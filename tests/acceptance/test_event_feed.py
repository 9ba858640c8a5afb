"""GET /v1/events: one live stream of every event of the caller's jobs (what the console
follows), through `spark api` with a real worker and the suite's consumer storing events."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from spark.config import Settings
from spark.db.events import store_events
from spark.db.executor import Database
from spark.domain.events import Event, EventFamily, EventType
from spark.domain.jobs import JobKind
from spark.security.apikeys import revoke_key
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.workers import ApiProcess, WorkerProcess

PARAMS = {"prompt": "a lamp that flickers at night", "class_name": "Lamp"}
Envelope = dict[str, Any]


@pytest.fixture(scope="module")
def feed_worker(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    worker = WorkerProcess(
        settings, Path(tmp_path_factory.mktemp("feed")), SPARK_OFFLINE_LATENCY_S="0.3"
    )
    worker.start()
    yield worker
    worker.stop()


class Feed:
    """A live /v1/events stream read in a thread of its own, its envelopes collected.

    http.client rather than httpx: closing means shutting the socket down, which wakes the
    thread's blocked read at once (a stream with nothing to say sends only a ping in 15 s).
    """

    def __init__(self, url: str, key: str, **params: str) -> None:
        self.items: list[Envelope] = []
        self._open = threading.Event()
        address = urlsplit(url)
        self._conn = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
        headers = {**auth(key), "Accept": "text/event-stream"}
        path = "/v1/events" + (f"?{urlencode(params)}" if params else "")
        self._thread = threading.Thread(target=self._read, args=(path, headers), daemon=True)
        self._thread.start()
        assert self._open.wait(10), "the stream did not open"

    def _read(self, path: str, headers: dict[str, str]) -> None:
        self._conn.request("GET", path, headers=headers)
        resp = self._conn.getresponse()
        assert resp.status == 200, resp.read()
        assert self._conn.sock is not None
        self._conn.sock.settimeout(None)
        self._open.set()
        with contextlib.suppress(OSError, ValueError):  # the socket shut down by close()
            while line := resp.readline():
                if line.startswith(b"data:"):
                    self.items.append(json.loads(line[5:]))

    def wait_for(self, found: Callable[[list[Envelope]], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not found(list(self.items)):
            assert time.monotonic() < deadline, f"not seen; got {self.items}"
            time.sleep(0.05)

    def ended(self, job_id: str) -> Callable[[list[Envelope]], bool]:
        return lambda items: any(
            e["job_id"] == job_id and e["type"] in {"completed", "failed"} for e in items
        )

    def wait_ended(self, timeout: float) -> None:
        """Wait until the server ended the stream."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the stream is still open"

    def close(self) -> None:
        if self._conn.sock is not None and self._thread.is_alive():
            self._conn.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(10)
        self._conn.close()


def submit(url: str, key: str, session: str = "default") -> str:
    body = {"kind": "generate_script", "params": PARAMS, "session_id": session}
    resp = httpx.post(f"{url}/v1/jobs", json=body, headers=auth(key), timeout=10)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


def test_the_feed_carries_each_of_your_jobs_events_once_in_order_and_none_of_others(
    feed_worker: WorkerProcess, api_server: ApiProcess, api_key: str, other_key: str
) -> None:
    mine = Feed(api_server.url, api_key)
    theirs = Feed(api_server.url, other_key)
    try:
        jobs = [submit(api_server.url, api_key, s) for s in ("level-1", "level-2")]
        for job in jobs:
            mine.wait_for(mine.ended(job))
        # mallory's own job: once her stream has carried it, alice's were read by it too
        sentinel = submit(api_server.url, other_key)
        theirs.wait_for(theirs.ended(sentinel))
    finally:
        mine.close()
        theirs.close()
    ids = [e["id"] for e in mine.items]
    assert len(ids) == len(set(ids)), "an event was sent twice"
    for job in jobs:
        types = [e["type"] for e in mine.items if e["job_id"] == job]
        assert types[0] == "started" and types[-1] == "completed", types
    assert {e["job_id"] for e in mine.items} == set(jobs)
    assert {e["job_id"] for e in theirs.items} == {sentinel}


def test_an_event_stored_late_still_arrives_once(
    feed_worker: WorkerProcess, api_server: ApiProcess, api_key: str, db: Database
) -> None:
    """An event stored after a newer one (its worker's sink was slower) is not skipped."""
    job = submit(api_server.url, api_key)
    wait_state(db, job, TERMINAL)
    feed = Feed(api_server.url, api_key)
    try:
        now = datetime.now(UTC)
        late = event(job, now - timedelta(seconds=2))
        newer = event(job, now)
        store_events(db, [newer])
        feed.wait_for(lambda items: any(e["id"] == str(newer.id) for e in items))
        store_events(db, [late])
        feed.wait_for(lambda items: any(e["id"] == str(late.id) for e in items))
        sentinel = event(job, datetime.now(UTC))
        store_events(db, [sentinel])
        feed.wait_for(lambda items: any(e["id"] == str(sentinel.id) for e in items))
    finally:
        feed.close()
    ids = [e["id"] for e in feed.items]
    assert ids == [str(newer.id), str(late.id), str(sentinel.id)]


def test_a_filtered_feed_carries_only_its_session(
    feed_worker: WorkerProcess, api_server: ApiProcess, api_key: str, db: Database
) -> None:
    feed = Feed(api_server.url, api_key, session_id="boss-fight")
    try:
        other = submit(api_server.url, api_key, "menu")
        wait_state(db, other, TERMINAL)
        wanted = submit(api_server.url, api_key, "boss-fight")
        feed.wait_for(feed.ended(wanted))
    finally:
        feed.close()
    assert {e["session_id"] for e in feed.items} == {"boss-fight"}


def test_without_event_stream_the_feed_answers_the_events_since_a_time_as_json(
    feed_worker: WorkerProcess, api_server: ApiProcess, api_key: str, db: Database
) -> None:
    job = submit(api_server.url, api_key)
    wait_state(db, job, TERMINAL)
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    deadline = time.monotonic() + 10
    while True:
        resp = httpx.get(
            f"{api_server.url}/v1/events", params={"since": since}, headers=auth(api_key)
        )
        assert resp.status_code == 200, resp.text
        types = [e["type"] for e in resp.json()["items"] if e["job_id"] == job]
        if "completed" in types or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert types[0] == "started" and types[-1] == "completed"
    bad = httpx.get(
        f"{api_server.url}/v1/events", params={"since": "yesterday"}, headers=auth(api_key)
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "since"


def event(job_id: str, ts: datetime) -> Event:
    return Event(
        EventType.PROGRESS,
        uuid.UUID(job_id),
        JobKind.GENERATE_SCRIPT,
        EventFamily.RUNTIME,
        "default",
        {"percent": 50, "message": "replayed"},
        ts=ts,
    )


def test_a_feed_ends_once_its_key_is_revoked_and_the_next_one_is_refused(
    api_server: ApiProcess, api_key: str, db: Database
) -> None:
    feed = Feed(api_server.url, api_key)
    try:
        assert revoke_key(db, api_key.split("_")[1])
        feed.wait_ended(timeout=30)
    finally:
        feed.close()
    again = httpx.get(
        f"{api_server.url}/v1/events", headers={**auth(api_key), "Accept": "text/event-stream"}
    )
    assert again.status_code == 401
    assert again.json()["error"]["message"] == "the API key is unknown or revoked"
