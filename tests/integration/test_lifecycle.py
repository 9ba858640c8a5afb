"""Claim, progress, finish, cancel and reap against real Postgres."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from typing import Any

import pytest

from spark.broker.dispatch import CeleryDispatcher
from spark.db import jobs as job_queries
from spark.db import running
from spark.db.executor import Database
from spark.domain.jobs import Job, JobKind, JobState
from spark.errors import JobNotCancelable, NotFound
from spark.events.sink import EventSink
from spark.jobs import lifecycle, maintenance
from spark.jobs.ending import Ending, Held, end_job
from spark.jobs.runner import JobContext, RunPolicy, run_job
from spark.jobs.submit import NewJob, submit

HOST = socket.gethostname()


def queued(db: Database, dispatcher: CeleryDispatcher, owner: str = "alice") -> Job:
    params = {"prompt": "a platform that moves up and down", "class_name": "MovingPlatform"}
    new = NewJob(owner=owner, kind=JobKind.GENERATE_SCRIPT, params=params, request_hash="x")
    return submit(db, dispatcher, new).job


def reload(db: Database, job_id: uuid.UUID) -> Job:
    with db.transaction() as tx:
        job = job_queries.get_job(tx, job_id)
    assert job is not None
    return job


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_job_is_claimed_once_however_often_its_message_arrives(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """The second claim of a running job by a live holder does nothing."""
    job = queued(db, dispatcher)
    first = lifecycle.claim(db, sink, job.id, f"{HOST}:1", lease_s=30, max_attempts=3)
    assert first is not None and first.attempt == 1
    me = lifecycle.worker_identity()
    held = lifecycle.claim(db, sink, job.id, me, lease_s=30, max_attempts=3)
    assert held is None
    assert reload(db, job.id).attempts == 1


def test_run_job_runs_the_handler_once_for_a_duplicate_message(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """Running the same job id twice calls the handler once; the second run finds it finished."""
    job = queued(db, dispatcher)
    calls: list[uuid.UUID] = []

    def handler(ctx: JobContext) -> dict[str, str]:
        calls.append(ctx.job.id)
        ctx.report(50, "halfway")
        return {"ok": "yes"}

    policy = RunPolicy(worker=lifecycle.worker_identity(), lease_s=30, max_attempts=3, events=sink)
    assert run_job(db, job.id, handler, policy) is not None
    assert run_job(db, job.id, handler, policy) is None
    final = reload(db, job.id)
    assert calls == [job.id] and final.state is JobState.SUCCEEDED and final.attempts == 1
    assert final.result == {"ok": "yes"} and final.progress.percent == 100


def test_a_job_held_by_a_dead_process_is_taken_over(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """A redelivered message whose holder died on this host takes the job as attempt 2."""
    job = queued(db, dispatcher)
    assert lifecycle.claim(db, sink, job.id, f"{HOST}:{dead_pid()}", lease_s=30, max_attempts=3)
    again = lifecycle.claim(
        db, sink, job.id, lifecycle.worker_identity(), lease_s=30, max_attempts=3
    )
    assert again is not None and again.attempt == 2


def test_a_job_out_of_attempts_fails_worker_lost(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """When the last attempt's worker died too, the job fails instead of looping."""
    job = queued(db, dispatcher)
    assert lifecycle.claim(db, sink, job.id, f"{HOST}:{dead_pid()}", lease_s=30, max_attempts=1)
    assert lifecycle.claim(db, sink, job.id, "x:1", lease_s=30, max_attempts=1) is None
    final = reload(db, job.id)
    assert final.state is JobState.FAILED and final.error is not None
    assert final.error.code == "worker_lost"


def test_progress_checkpoint_stops_a_canceled_job(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """Canceling a running job makes its next progress report raise JobCanceled."""
    job = queued(db, dispatcher)
    held = lifecycle.claim(db, sink, job.id, "w:1", lease_s=30, max_attempts=3)
    assert held is not None
    lifecycle.report_progress(db, held, 10, "working")
    assert lifecycle.cancel(db, sink, "alice", job.id).state is JobState.RUNNING
    with pytest.raises(lifecycle.JobCanceled):
        lifecycle.report_progress(db, held, 20, "still working")


def test_a_superseded_attempt_cannot_finish_the_job(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """After a takeover, the old attempt's progress and finish are refused."""
    job = queued(db, dispatcher)
    old = lifecycle.claim(db, sink, job.id, f"{HOST}:{dead_pid()}", lease_s=30, max_attempts=3)
    assert old is not None
    assert lifecycle.claim(db, sink, job.id, "new:1", lease_s=30, max_attempts=3) is not None
    with pytest.raises(lifecycle.JobLost):
        lifecycle.report_progress(db, old, 50, "late")
    assert end_job(db, sink, old.job, Held(old.attempt), Ending(JobState.SUCCEEDED, {})) is None
    assert reload(db, job.id).state is JobState.RUNNING


def test_a_job_given_back_to_the_queue_is_claimed_again_as_submitted(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """Requeued (its dependency is failing), the job keeps its request and is claimable."""
    new = NewJob("alice", JobKind.GENERATE_SCRIPT, {}, subject="k1", request_id="r1")
    job = submit(db, dispatcher, new).job
    held = lifecycle.claim(db, sink, job.id, "w:1", lease_s=30, max_attempts=3)
    assert held is not None
    back = lifecycle.requeue(db, held, "waiting: the LLM is unavailable")
    assert back is not None and back.state is JobState.QUEUED and back.worker is None
    assert (back.subject, back.request_id, back.created_at) == ("k1", "r1", job.created_at)
    again = lifecycle.claim(db, sink, job.id, "w:2", lease_s=30, max_attempts=3)
    assert again is not None and again.attempt == 2


def test_cancel_of_a_queued_job_is_immediate_and_final(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """A canceled queued job is never claimed, and canceling it again is a conflict."""
    job = queued(db, dispatcher)
    assert lifecycle.cancel(db, sink, "alice", job.id).state is JobState.CANCELED
    assert lifecycle.claim(db, sink, job.id, "w:1", lease_s=30, max_attempts=3) is None
    assert reload(db, job.id).attempts == 0
    with pytest.raises(JobNotCancelable):
        lifecycle.cancel(db, sink, "alice", job.id)


def test_cancel_of_another_users_job_is_not_found(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """Nobody can cancel, or learn of, a job they do not own."""
    job = queued(db, dispatcher)
    with pytest.raises(NotFound):
        lifecycle.cancel(db, sink, "mallory", job.id)
    assert reload(db, job.id).state is JobState.QUEUED


def test_reaper_sends_a_job_again_while_it_has_attempts_left(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """A job with no heartbeat for a lease and attempts left goes back to the queue, its
    outbox row unsent so the relay sends it at once; a job still beating is left alone."""
    stale, fresh = queued(db, dispatcher), queued(db, dispatcher)
    assert lifecycle.claim(db, sink, stale.id, "gone:1", lease_s=30, max_attempts=3)
    time.sleep(0.3)
    assert lifecycle.claim(db, sink, fresh.id, "alive:1", lease_s=30, max_attempts=3)
    assert maintenance.reap(db, sink, maintenance.ReapPolicy(0.2, max_attempts=3)) == 1
    back = reload(db, stale.id)
    assert back.state is JobState.QUEUED and back.attempts == 1 and back.worker is None
    assert reload(db, fresh.id).state is JobState.RUNNING
    assert maintenance.relay(db, dispatcher, min_age_s=0) == 1
    again = lifecycle.claim(db, sink, stale.id, "next:1", lease_s=30, max_attempts=3)
    assert again is not None and again.attempt == 2


def test_reaper_fails_a_job_whose_attempts_are_spent(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """The last attempt's worker went silent: the job ends failed with worker_lost."""
    job = queued(db, dispatcher)
    assert lifecycle.claim(db, sink, job.id, "gone:1", lease_s=30, max_attempts=1)
    time.sleep(0.3)
    assert maintenance.reap(db, sink, maintenance.ReapPolicy(0.2, max_attempts=1)) == 1
    reaped = reload(db, job.id)
    assert reaped.state is JobState.FAILED and reaped.error is not None
    assert reaped.error.code == "worker_lost" and reaped.finished_at is not None


def test_progress_is_written_at_most_once_per_interval_yet_cancel_is_noticed(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler reporting in a tight loop costs few writes, and still stops soon after a cancel."""
    job = queued(db, dispatcher)
    writes: list[int] = []
    write = running.record_progress

    def counted(*args: Any) -> bool | None:
        writes.append(1)
        return write(*args)

    # the progress statement runs on a raw pooled connection: count the writes where made
    monkeypatch.setattr(running, "record_progress", counted)

    def handler(ctx: JobContext) -> dict[str, str]:
        for i in range(100_000):
            ctx.report(i % 100, "busy")
            time.sleep(0.0005)
        return {}

    threading.Timer(0.6, lambda: lifecycle.cancel(db, sink, "alice", job.id)).start()
    policy = RunPolicy(
        worker=lifecycle.worker_identity(),
        lease_s=30,
        max_attempts=3,
        events=sink,
        progress_interval_s=0.2,
    )
    started = time.monotonic()
    final = run_job(db, job.id, handler, policy)
    assert final is not None and final.state is JobState.CANCELED
    assert time.monotonic() - started < 1.5
    assert 2 <= len(writes) <= 8


def test_an_unfinished_outcome_is_sql_null(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink
) -> None:
    """A succeeded job has a result and a NULL error (not a JSON null), so SQL filters work."""
    from sqlalchemy import text

    job = queued(db, dispatcher)
    held = lifecycle.claim(db, sink, job.id, "w:1", lease_s=30, max_attempts=3)
    assert held is not None
    end_job(db, sink, held.job, Held(held.attempt), Ending(JobState.SUCCEEDED, {"ok": True}))
    with db.transaction() as tx:
        nulls = tx.one(
            text("SELECT error IS NULL, result IS NULL FROM jobs WHERE id = :id"), {"id": job.id}
        )
    assert tuple(nulls) == (True, False)
