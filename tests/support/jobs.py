"""Helpers the acceptance tests share: credentials and waiting on stored jobs."""

from __future__ import annotations

import time
import uuid

from spark.broker.dispatch import CeleryDispatcher
from spark.db import jobs as job_queries
from spark.db.executor import Database
from spark.domain.jobs import Job, JobKind
from spark.kinds import spec_of

TERMINAL = {"succeeded", "failed", "canceled", "timed_out"}
TURRET = {
    "kind": "generate_script",
    "params": {"prompt": "a turret that rotates and fires bullets", "class_name": "Turret"},
}


def auth(key: str) -> dict[str, str]:
    """The Authorization header for an API key."""
    return {"Authorization": f"Bearer {key}"}


def stored(db: Database, job_id: str | uuid.UUID) -> Job:
    """The job as stored (owner-blind), which must exist."""
    with db.transaction() as tx:
        job = job_queries.get_job(tx, uuid.UUID(str(job_id)))
    assert job is not None
    return job


def wait_state(db: Database, job_id: str, states: set[str], timeout: float = 20.0) -> Job:
    """Poll the database until the job is in one of states."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = stored(db, job_id)
        if job.state.value in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {states}: {stored(db, job_id)}")


def assert_result_matches_its_model(kind: str, result: object) -> None:
    """The result a job returned fits the result model the kind registry declares (and OpenAPI
    documents)."""
    spec_of(JobKind(kind)).result.model_validate(result)


def delivered(dispatcher: CeleryDispatcher, ids: list[str]) -> set[str]:
    """Which of ids a consumer holds unacknowledged (an earlier test's dead worker may have
    left deliveries of its own jobs)."""
    return {str(d.job_id) for d in dispatcher.deliveries(0.0, 1000)} & set(ids)


def wait_delivered(dispatcher: CeleryDispatcher, ids: list[str], count: int) -> None:
    """Wait until consumers took count of ids."""
    deadline = time.monotonic() + 20
    while len(delivered(dispatcher, ids)) < count:
        assert time.monotonic() < deadline, delivered(dispatcher, ids)
        time.sleep(0.1)
