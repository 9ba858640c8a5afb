"""A verify chain survives the worker moving its parent on being killed between steps: the
parent ends once, and no step runs twice.

The worker here is the only one on the parent's queues, so the kill lands where the test
says: right after a step ended and before the parent moved on (`continuing`), or right
after the next step was committed and before its message was sent (`child_started`). A
second worker and the scheduler take it from there — the nudge the first worker took dies
with it, so only the upkeep's scan (and, for an unsent step, the outbox relay) can finish
the chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from spark.config import Settings
from spark.db.executor import Database
from spark.db.models import JobRow
from spark.faults import marker
from tests.acceptance.test_verify import (
    GOOD_LINE,
    PASSING,
    TESTS_PATH,
    children_of,
    project_with_stored_tests,
)
from tests.support.builds import builds_only_worker
from tests.support.endings import terminal_stored, usage_records, wait_for
from tests.support.jobs import TERMINAL, auth, wait_state
from tests.support.workers import BeatProcess, WorkerProcess


@pytest.fixture(scope="module")
def builder(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    proc = builds_only_worker(settings, tmp_path_factory.mktemp("takeover-builder"))
    proc.start()
    yield proc
    proc.stop()


def steps_counted(db: Database, parent_id: str) -> dict[str, int]:
    """How many jobs of each kind the parent started (a step run twice shows as 2)."""
    with db.transaction() as tx:
        rows = tx.all(
            select(JobRow.kind, func.count())
            .where(JobRow.parent_id == parent_id)
            .group_by(JobRow.kind)
        )
    return {row[0]: int(row[1]) for row in rows}


@pytest.mark.parametrize("point", ["continuing", "child_started"])
def test_a_parent_whose_worker_dies_between_steps_finishes_once_without_repeating_a_step(
    builder: WorkerProcess,
    settings: Settings,
    client: TestClient,
    api_key: str,
    db: Database,
    tmp_path: Path,
    point: str,
) -> None:
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    first = WorkerProcess(
        settings,
        tmp_path,
        queues="patches,maintenance",
        SPARK_VAR_DIR=str(var_dir),
        SPARK_FAULT_PAUSE_AT=point,
    )
    first.start()
    second = WorkerProcess(settings, tmp_path, queues="patches,maintenance")
    beat = BeatProcess(settings, tmp_path)
    try:
        project_id = project_with_stored_tests(client, api_key, tmp_path / point, PASSING)
        params = {
            "path": TESTS_PATH,
            "patch_type": "replace",
            "old": GOOD_LINE,
            "new": GOOD_LINE + " // checked",
            "verify": {"compile": True, "tests": "EditMode"},
        }
        body = {"kind": "apply_patch", "project_id": project_id, "params": params}
        resp = client.post("/v1/jobs", json=body, headers=auth(api_key))
        assert resp.status_code == 202, resp.text
        parent_id = resp.json()["id"]
        paused = marker(point, var_dir)
        wait_for(lambda: paused.exists() and paused.read_text().isdigit(), f"a pause at {point}")
        first.kill()
        second.start()
        beat.start()
        parent = wait_state(db, parent_id, TERMINAL, timeout=90)
        assert parent.state.value == "succeeded", parent.error
        assert steps_counted(db, parent_id) == {"compile_check": 1, "run_tests": 1}
        assert [s["state"] for s in children_of(client, api_key, parent_id)] == [
            "succeeded",
            "succeeded",
        ]
        wait_for(lambda: terminal_stored(db, parent_id) != [], "the parent's terminal event")
        assert terminal_stored(db, parent_id) == ["completed"]
        assert usage_records(db, parent_id) == 1
    finally:
        beat.stop()
        second.stop()
        first.kill()
