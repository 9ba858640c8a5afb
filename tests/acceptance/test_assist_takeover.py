"""An assist turn whose worker is killed mid-plan is taken over: every tool call runs once,
the turn ends once, and the session's next turn runs as usual.

The first worker is the only one on the turn's queues, so the kill lands where the test
says: right after a call's child job was committed and before its message was sent
(`child_started`), or right after a child ended and before the turn moved on (`continuing`).
A second worker and the scheduler (the outbox relay, the upkeep's scan of waiting parents)
take it from there. The offline planner plans, so each turn's calls are known in advance.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from spark.faults import marker
from tests.acceptance.test_assist import ask, children, new_project
from tests.acceptance.test_verify_takeover import steps_counted
from tests.support.endings import terminal_stored, usage_records, wait_for
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.workers import BeatProcess, WorkerProcess

TWO_SCRIPTS = "make a player controller, then make an enemy spawner that spawns waves"


@pytest.mark.parametrize("point", ["child_started", "continuing"])
def test_a_turn_whose_worker_dies_mid_plan_runs_each_call_once_and_ends_once(
    settings: Settings,
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
    point: str,
) -> None:
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    queues = "generation,maintenance"
    first = WorkerProcess(
        settings, tmp_path, queues=queues, SPARK_VAR_DIR=str(var_dir), SPARK_FAULT_PAUSE_AT=point
    )
    first.start()
    second = WorkerProcess(settings, tmp_path, queues=queues)
    beat = BeatProcess(settings, tmp_path)
    try:
        project_id = new_project(client, api_key)
        body = {"kind": "assist", "params": {"text": TWO_SCRIPTS}, "project_id": project_id}
        resp = client.post(
            "/v1/jobs", json={**body, "session_id": "takeover"}, headers=auth(api_key)
        )
        assert resp.status_code == 202, resp.text
        turn_id = resp.json()["id"]
        paused = marker(point, var_dir)
        wait_for(lambda: paused.exists() and paused.read_text().isdigit(), f"a pause at {point}")
        first.kill()
        second.start()
        beat.start()
        turn = wait_state(db, turn_id, TERMINAL, timeout=90)
        assert turn.state.value == "succeeded", turn.error
        assert steps_counted(db, turn_id) == {"generate_script": 2}
        made = children(client, api_key, turn_id)
        assert [c["params"]["class_name"] for c in made] == ["PlayerController", "EnemySpawner"]
        assert turn.result is not None
        assert turn.result["calls"] == [
            {"tool": "generate_script", "job_id": c["id"], "status": "succeeded"} for c in made
        ]
        wait_for(lambda: terminal_stored(db, turn_id) != [], "the turn's terminal event")
        assert terminal_stored(db, turn_id) == ["completed"]
        assert usage_records(db, turn_id) == 1
        # the conversation goes on: the session's next turn plans and runs as usual
        after = ask(client, api_key, db, "make a coin pickup", project_id, "takeover")
        assert after["state"] == "succeeded", after["error"]
        assert [c["kind"] for c in children(client, api_key, after["id"])] == ["generate_script"]
    finally:
        beat.stop()
        second.stop()
        first.kill()
