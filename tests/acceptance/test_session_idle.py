"""Idle sessions end on `spark beat`'s sweep after SPARK_SESSION_IDLE_S, and a job keeps
one open. A module of its own: the sweep runs on whichever worker takes the maintenance
queue, so no other module's worker, with another idle setting, may be listening."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from tests.acceptance.test_sessions import backdate, open_session, stored_session_events
from tests.support.endings import wait_for
from tests.support.jobs import TURRET, auth
from tests.support.workers import BeatProcess, WorkerProcess


def test_idle_sessions_end_on_beat_and_a_job_keeps_one_open(
    settings: Settings, client: TestClient, api_key: str, db: Database, tmp_path: Path
) -> None:
    """Both sessions last did something two minutes ago (SPARK_SESSION_IDLE_S is 60); a job
    submitted into one makes it active again, and the beat's sweep ends only the other."""
    idle, busy = open_session(client, api_key)["id"], open_session(client, api_key)["id"]
    backdate(db, [idle, busy], 120)
    resp = client.post("/v1/jobs", json={**TURRET, "session_id": busy}, headers=auth(api_key))
    assert resp.status_code == 202
    env = {"SPARK_SESSION_IDLE_S": "60"}
    sweeper = WorkerProcess(settings, tmp_path, queues="maintenance", concurrency=1, **env)
    beat = BeatProcess(settings, tmp_path, **env)
    sweeper.start()
    beat.start()
    try:

        def state_of(session_id: str) -> dict[str, Any]:
            shown: dict[str, Any] = client.get(
                f"/v1/sessions/{session_id}", headers=auth(api_key)
            ).json()
            return shown

        wait_for(lambda: state_of(idle)["state"] == "ended", "the idle session ended", 30)
    finally:
        beat.stop()
        sweeper.stop()
    ended = state_of(idle)
    assert ended["ended_reason"] == "idle" and ended["ended_at"] is not None
    assert state_of(busy)["state"] == "open"
    wait_for(lambda: len(stored_session_events(db, idle)) >= 2, "the idle end stored")
    stored = stored_session_events(db, idle)
    assert [t for t, _ in stored] == ["started", "ended"]
