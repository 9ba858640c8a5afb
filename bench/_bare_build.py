"""Build baseline: bare Celery with SPARK's configuration, one task that runs the Unity stand-in.

The worker runs `celery -A bench._bare_build:app worker` (prefork, 1 process, prefetch 1, acks
late). Its task starts the launcher at BENCH_UNITY_PATH with Unity's batch-mode arguments, reads
its output to the end, waits for it, stamps time.time() and pushes {job, end, code} to a Redis
list, where the producer waits for it (BLPOP) before it publishes the next build.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis
from celery import Celery

from bench._bare import BROKER_ENV, bare_app, broker_redis, broker_url
from bench._procs import Proc, child_env
from spark.engines.unity.editor_script import BUILD_METHOD

UNITY_ENV, PROJECT_ENV, OUT_ENV = "BENCH_UNITY_PATH", "BENCH_PROJECT_DIR", "BENCH_OUT_DIR"
QUEUE = "bench_builds"
TASK = "bench.unity_build"
#: the Redis list each finished task pushes its end time to
DONE = "bench:builds:done"
TARGET = "StandaloneLinux64"
#: how long one build may take before the baseline gives up
BUILD_TIMEOUT_S = 60


def unity_command(unity: str, project: str, out: str, job_id: str) -> list[str]:
    """The batch-mode command line SPARK's runner uses (builds.build_command), same order."""
    return [
        *(unity, "-batchmode", "-nographics", "-quit", "-projectPath", project),
        *("-buildTarget", TARGET, "-executeMethod", BUILD_METHOD, "-logFile", "-"),
        *("-customBuildTarget", TARGET, "-customBuildPath", out),
        *("-sparkJobId", job_id),
    ]


def unity_build(job_id: str) -> None:
    """Run the stand-in to its end (output read to EOF), then report the end time."""
    out = Path(os.environ[OUT_ENV]) / job_id / "Game.x86_64"
    command = unity_command(os.environ[UNITY_ENV], os.environ[PROJECT_ENV], str(out), job_id)
    proc = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdout is not None
    with proc.stdout as stream:
        for _line in stream:
            pass
    code = proc.wait()
    ended = time.time()
    broker_redis().rpush(DONE, json.dumps({"job": job_id, "end": ended, "code": code}))


def make_app(url: str) -> Celery:
    """The build-baseline app on url."""
    return bare_app("bench_builds", QUEUE, {TASK: unity_build}, url)


app = make_app(broker_url())


@dataclass(frozen=True)
class BareBuild:
    """One baseline build: wall-clock times of the publish and of the task's end."""

    job_id: str
    submitted: float
    ended: float


def _one(producer: Celery, client: redis.Redis, worker: Proc) -> BareBuild:
    job_id = str(uuid.uuid4())
    submitted = time.time()
    # The same call SPARK's CeleryDispatcher makes: task id, explicit queue, priority.
    producer.send_task(TASK, args=[job_id], task_id=job_id, queue=QUEUE, priority=4)
    popped = client.blpop([DONE], timeout=BUILD_TIMEOUT_S)
    worker.check_alive()
    if popped is None:
        raise RuntimeError(f"bare Celery: build {job_id} not done in {BUILD_TIMEOUT_S}s")
    done = json.loads(popped[1])
    if done["job"] != job_id or done["code"] != 0:
        raise RuntimeError(f"bare Celery: unexpected end {done} for {job_id}")
    return BareBuild(job_id, submitted, float(done["end"]))


def run_bare_builds(
    unity: Path,
    project: Path,
    stand_in: dict[str, str],
    workdir: Path,
    counts: tuple[int, int],
    broker: str,
) -> tuple[list[BareBuild], float]:
    """Start the bare worker on broker (the stand-in gets stand_in, FAKE_UNITY_*, in its
    environment); counts = (warm-up, measured) builds, one at a time; the measured builds and
    the worker's CPU seconds during them."""
    out = workdir / "bare-out"
    env = {UNITY_ENV: str(unity), PROJECT_ENV: str(project), OUT_ENV: str(out), BROKER_ENV: broker}
    args = ["-m", "celery", "-A", "bench._bare_build:app", "worker", "-Q", QUEUE, "-c", "1"]
    args += ["-P", "prefork", "-l", "INFO", "-n", f"benchbuilds{os.getpid()}@%h", "-E"]
    args += ["--prefetch-multiplier", "1"]
    worker = Proc("bare-build-worker", args, child_env(env | stand_in), workdir)
    producer, client = make_app(broker), redis.Redis.from_url(broker)
    try:
        worker.start()
        worker.wait_for_log("ready.")
        for _ in range(counts[0]):
            _one(producer, client, worker)
        cpu0 = worker.cpu_seconds()
        measured = [_one(producer, client, worker) for _ in range(counts[1])]
        return measured, worker.cpu_seconds() - cpu0
    finally:
        worker.stop()
        producer.close()
        client.close()
