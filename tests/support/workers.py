"""Real SPARK processes (Celery worker, beat) started by the tests, as operators start them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from spark.config import Settings


def spark_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a SPARK process needs to run on settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_")}
    servers = {
        "SPARK_DATABASE_URL": settings.database_url,
        "SPARK_BROKER_URL": settings.broker_url,
        "SPARK_REDIS_URL": settings.redis_url,
        "SPARK_NATS_URL": settings.nats_url,
    }
    env.update({name: url for name, url in servers.items() if url})
    env.update(
        {
            "SPARK_VAR_DIR": str(settings.var_dir),
            "SPARK_STORAGE_URL": settings.storage_url,
            "SPARK_ARTIFACT_REDIRECT": str(settings.artifact_redirect).lower(),
            "SPARK_HEARTBEAT_INTERVAL_S": str(settings.heartbeat_interval_s),
            "SPARK_LEASE_S": str(settings.lease_s),
            "SPARK_RELAY_MIN_AGE_S": str(settings.relay_min_age_s),
            "SPARK_RELAY_INTERVAL_S": str(settings.relay_interval_s),
            "SPARK_REAPER_INTERVAL_S": str(settings.reaper_interval_s),
            "SPARK_CONSUMER_ACK_WAIT_S": str(settings.consumer_ack_wait_s),
            "SPARK_OFFLINE_LATENCY_S": str(settings.offline_latency_s),
            "SPARK_ALLOW_PRIVATE_DESTINATIONS": str(settings.allow_private_destinations).lower(),
            # Several test workers run at once: only a test that scrapes one gives it a port.
            "SPARK_WORKER_METRICS_PORT": "0",
        }
    )
    if settings.s3_endpoint_url is not None:
        env["SPARK_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    if settings.source_roots is not None:
        env["SPARK_SOURCE_ROOTS"] = json.dumps([str(root) for root in settings.source_roots])
    if settings.secrets_key is not None:
        env["SPARK_SECRETS_KEY"] = settings.secrets_key.get_secret_value()
    env.update(extra)
    return env


class SparkProcess:
    """A `spark <command>` child process with its log in a file."""

    ready_marker = ""

    def __init__(self, settings: Settings, workdir: Path, args: list[str], **env: str) -> None:
        self.workdir = workdir
        self.log_path = workdir / f"{args[0]}-{id(self)}.log"
        self.args = args
        self.env = spark_env(settings, **env)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 40.0) -> None:
        """Start and wait until the process says it is ready."""
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "spark.cli", *self.args],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while self.ready_marker not in self.log():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"spark {self.args[0]} did not start:\n{self.log()[-3000:]}")
            time.sleep(0.1)

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the process and every child it forked."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), killing after a grace period."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()


class WorkerProcess(SparkProcess):
    """`spark worker` on the job queues and the maintenance queue."""

    ready_marker = "ready."

    def __init__(
        self,
        settings: Settings,
        workdir: Path,
        queues: str = "generation,patches,previews,maintenance",
        concurrency: int = 2,
        **env: str,
    ) -> None:
        super().__init__(
            settings,
            workdir,
            ["worker", "--queues", queues, "--concurrency", str(concurrency)],
            **env,
        )


class BeatProcess(SparkProcess):
    """`spark beat`: schedules the relay and the reaper."""

    ready_marker = "beat: Starting"

    def __init__(self, settings: Settings, workdir: Path, **env: str) -> None:
        super().__init__(settings, workdir, ["beat"], **env)


class FlowerProcess(SparkProcess):
    """`spark flower` on a given port, protected by basic auth (user:password)."""

    # Logged once the HTTP server is listening, before the event consumer connects.
    ready_marker = "Visit me at"

    def __init__(
        self, settings: Settings, workdir: Path, port: int, basic_auth: str, **env: str
    ) -> None:
        super().__init__(
            settings,
            workdir,
            ["flower", "--port", str(port)],
            SPARK_FLOWER_BASIC_AUTH=basic_auth,
            **env,
        )
        self.url = f"http://127.0.0.1:{port}"


class ConsumerProcess(SparkProcess):
    """`spark consumer`: stores the event stream in spark_events."""

    ready_marker = "ready"

    def __init__(
        self, settings: Settings, workdir: Path, nats_url: str | None = None, **env: str
    ) -> None:
        if nats_url is not None:
            env["SPARK_NATS_URL"] = nats_url
        super().__init__(settings, workdir, ["consumer"], **env)


class ApiProcess(SparkProcess):
    """`spark api` on a port of its own; several may share one database and Redis."""

    ready_marker = "Uvicorn running on"

    def __init__(self, settings: Settings, workdir: Path, port: int, **env: str) -> None:
        super().__init__(settings, workdir, ["api", "--port", str(port), "--no-access-log"], **env)
        self.url = f"http://127.0.0.1:{port}"
