"""A parent waiting for child jobs against real Postgres: concurrent continuers start the next
step once, the reaper and takeovers leave a waiting parent alone, a cancel stops the chain."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from spark.broker.dispatch import CeleryDispatcher
from spark.db import jobs as job_queries
from spark.db.executor import Database
from spark.domain.jobs import Job, JobKind, JobState
from spark.events.sink import EventSink
from spark.jobs import children, lifecycle, maintenance
from spark.jobs.ending import Ending, Held, end_job
from spark.jobs.submit import NewJob, submit

OWNER = "alice"


def running_parent(db: Database, dispatcher: CeleryDispatcher, sink: EventSink) -> Job:
    """A claimed apply_patch job, as its worker holds it."""
    params = {"path": "Assets/A.cs", "patch_type": "full", "content": "class A {}"}
    new = NewJob(owner=OWNER, kind=JobKind.APPLY_PATCH, params=params, request_hash="x")
    job = submit(db, dispatcher, new).job
    held = lifecycle.claim(
        db, sink, job.id, lifecycle.worker_identity(), lease_s=30, max_attempts=3
    )
    assert held is not None
    return held.job


def step(kind: JobKind, n: int) -> children.Next:
    return children.Next(kind, {}, {"n": n}, 50 + n, f"step {n}")


def reload(db: Database, job_id: uuid.UUID) -> Job:
    job = job_queries.get_job(db, job_id)
    assert job is not None
    return job


def finish(db: Database, sink: EventSink, job_id: uuid.UUID, state: JobState) -> None:
    child = lifecycle.claim(
        db, sink, job_id, lifecycle.worker_identity(), lease_s=30, max_attempts=3
    )
    assert child is not None
    assert end_job(db, sink, child.job, Held(child.attempt), Ending(state)) is not None


def kids(db: Database, parent_id: uuid.UUID) -> list[Job]:
    with db.transaction() as tx:
        rows = tx.all(
            text("SELECT id FROM jobs WHERE parent_id = :p ORDER BY created_at"), {"p": parent_id}
        )
    return [reload(db, row.id) for row in rows]


def test_continuers_racing_on_one_ended_step_start_the_next_step_once(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    parent = running_parent(db, dispatcher, sink)
    p = children.Parenting(db, sink, dispatcher)
    first = children.hand_over(p, parent, parent.attempts, step(JobKind.COMPILE_CHECK, 1))
    assert first is not None and first.parent_id == parent.id
    assert reload(db, parent.id).waiting_on == first.id
    finish(db, sink, first.id, JobState.SUCCEEDED)

    def decide(job: Job, carried: Mapping[str, Any], child: Job) -> children.Next | Ending:
        assert carried == {"n": 1} and child.id == first.id
        return step(JobKind.RUN_TESTS, 2)

    threads = [
        threading.Thread(target=children.continue_parent, args=(p, parent.id, decide))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    started = kids(db, parent.id)
    assert [k.kind for k in started] == [JobKind.COMPILE_CHECK, JobKind.RUN_TESTS]
    assert reload(db, parent.id).waiting_on == started[1].id


def test_a_waiting_parent_is_neither_reaped_nor_taken_over_and_ends_once(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    parent = running_parent(db, dispatcher, sink)
    p = children.Parenting(db, sink, dispatcher)
    child = children.hand_over(p, parent, parent.attempts, step(JobKind.COMPILE_CHECK, 1))
    assert child is not None
    with db.transaction() as tx:  # its last sign of life long ago, past its kind's limit
        tx.run(
            text(
                "UPDATE jobs SET heartbeat_at = heartbeat_at - :age, started_at = started_at - :age WHERE id = :id"
            ),
            {"id": parent.id, "age": timedelta(hours=1)},
        )
    maintenance.reap(db, sink, maintenance.ReapPolicy(lease_s=1))
    taken = lifecycle.claim(db, sink, parent.id, "elsewhere:1", lease_s=1, max_attempts=3)
    assert taken is None
    assert reload(db, parent.id).state is JobState.RUNNING
    finish(db, sink, child.id, JobState.SUCCEEDED)
    ended = Ending(JobState.SUCCEEDED, {"done": True})
    results = [children.continue_parent(p, parent.id, lambda *_: ended) for _ in range(2)]
    assert [r is not None for r in results] == [True, False]
    final = reload(db, parent.id)
    assert final.state is JobState.SUCCEEDED and final.waiting_on is None
    assert children.continue_ready(p, lambda *_: ended) == 0


def test_a_parent_asked_to_cancel_starts_no_further_step_and_its_open_child_is_canceled(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    parent = running_parent(db, dispatcher, sink)
    p = children.Parenting(db, sink, dispatcher)
    child = children.hand_over(p, parent, parent.attempts, step(JobKind.COMPILE_CHECK, 1))
    assert child is not None
    lifecycle.cancel(db, sink, OWNER, parent.id)
    assert reload(db, child.id).state is JobState.CANCELED  # it was still queued
    assert reload(db, parent.id).cancel_requested
    late = children.hand_over(p, reload(db, parent.id), parent.attempts, step(JobKind.RUN_TESTS, 2))
    assert late is None
    assert [k.kind for k in kids(db, parent.id)] == [JobKind.COMPILE_CHECK]
