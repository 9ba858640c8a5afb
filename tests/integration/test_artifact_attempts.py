"""Artifacts are kept per attempt: an attempt that lost its job to another keeps nothing."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from spark.broker.dispatch import CeleryDispatcher
from spark.db import jobs as job_queries
from spark.db.executor import Database
from spark.domain.jobs import JobKind, JobState
from spark.events.sink import EventSink
from spark.jobs import lifecycle
from spark.jobs.runner import JobContext, RunPolicy, run_job
from spark.jobs.submit import NewJob, submit
from spark.jobs.tools import Tools
from spark.storage.artifacts import Artifacts
from spark.storage.local import LocalBlobs


def dead_worker() -> str:
    """A worker identity on this host whose process has exited (so its job may be taken)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return f"{socket.gethostname()}:{proc.pid}"


def test_an_attempt_whose_end_is_refused_discards_its_artifacts_and_keeps_the_winners(
    db: Database, dispatcher: CeleryDispatcher, sink: EventSink, tmp_path: Path
) -> None:
    """A builder cut off mid-job comes back late: its end is refused because attempt 2 owns
    the job, so what attempt 1 stored is deleted, and attempt 2's files are untouched."""
    job = submit(db, dispatcher, NewJob("alice", JobKind.GENERATE_SCRIPT, {})).job
    artifacts = Artifacts(LocalBlobs(tmp_path / "storage"))
    tools = Tools(db, None, artifacts, None, None, None)  # type: ignore[arg-type]

    def late_handler(ctx: JobContext) -> dict[str, object]:
        stored = artifacts.put(ctx.job.id, ctx.attempt, "player.apk", b"attempt 1's player")
        # Meanwhile the job was taken over, and its new attempt stored its own player.
        taken = lifecycle.claim(db, sink, ctx.job.id, "builder-2:1", lease_s=30, max_attempts=3)
        assert taken is not None and taken.attempt == 2
        artifacts.put(ctx.job.id, 2, "player.apk", b"attempt 2's player")
        return {"artifacts": [stored.as_dict()]}

    policy = RunPolicy(worker=dead_worker(), lease_s=30, max_attempts=3, events=sink, tools=tools)
    assert run_job(db, job.id, late_handler, policy) is None
    keys = artifacts.blobs.keys(f"jobs/{job.id}/")
    assert keys == [f"jobs/{job.id}/2/player.apk"]
    opened = artifacts.open(job.id, 2, "player.apk")
    assert opened is not None and opened.read() == b"attempt 2's player"
    opened.close()
    with db.transaction() as tx:
        current = job_queries.get_job(tx, job.id)
    assert current is not None and current.state is JobState.RUNNING and current.attempts == 2
