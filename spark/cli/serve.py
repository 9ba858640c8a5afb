"""`spark api|worker|beat|migrate`: running SPARK's processes one at a time."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from spark import logs
from spark.cli.output import console, emit_json
from spark.config import Settings, load_settings
from spark.db import migrate as migrations
from spark.domain.jobs import Queue
from spark.domain.targets import BuildTarget, build_queue, default_targets

log = logging.getLogger(__name__)

DEFAULT_QUEUES = ",".join(
    q.value for q in (Queue.GENERATION, Queue.PATCHES, Queue.PREVIEWS, Queue.MAINTENANCE)
)


def migrate_database(settings: Settings) -> None:
    """Bring the schema of the configured database up to date."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.require("database_url"))


def api(
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1, help="Server processes (default: half the CPUs, at least 1).", show_default=False
        ),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    from spark.web.server import PROTOCOL

    settings = load_settings()
    logs.configure_process(settings)
    uvicorn.run(
        "spark.web.app:app_from_env",
        factory=True,
        http=PROTOCOL,
        host=host,
        port=port,
        workers=workers or default_api_workers(),
        access_log=access_log,
        # No config of uvicorn's own: its lines reach the root handler set up above here, and
        # by the app factory in each server process.
        log_config=None,
        log_level=settings.log_level.lower(),
    )


def default_api_workers() -> int:
    """One API process serves about one core's worth of requests; half the CPUs leaves the
    other half to Postgres, Redis and workers when they share the machine."""
    return max(1, (os.cpu_count() or 2) // 2)


def default_worker_processes() -> int:
    """One prefork process per CPU: generation jobs spend their time on the CPU or waiting
    on the LLM, and more processes than cores only contend."""
    return os.cpu_count() or 2


def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues.")] = DEFAULT_QUEUES,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Processes (default: one per CPU).", show_default=False),
    ] = None,
    pool: Annotated[str, typer.Option(help="prefork, solo or threads.")] = "prefork",
    state_db: Annotated[
        Path | None, typer.Option(help="Keep the revoke list in this file across restarts.")
    ] = None,
    loglevel: Annotated[
        str | None, typer.Option(help="Log level (default: SPARK_LOG_LEVEL).", show_default=False)
    ] = None,
    targets: Annotated[
        str | None,
        typer.Option(
            help="Build targets this builder builds, comma-separated (default:"
            " SPARK_BUILD_TARGETS, else what Unity builds on this OS).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run a Celery worker on the given queues (builds: prefetch 1, per declared target)."""
    from spark.worker.metrics import multiprocess_dir, prepare_multiprocess_dir

    settings = load_settings()
    declared = parse_targets(targets) if targets is not None else None
    queues = builder_queues(queues, declared or settings.build_targets or default_targets())
    # Now, not only when Celery sets logging up: it warns about privileges before that.
    logs.configure_process(settings, loglevel)
    # Before the worker app (and prometheus_client) loads, so every prefork child
    # writes its metrics to files the main process's /metrics server can add up.
    prepare_multiprocess_dir(multiprocess_dir(settings, os.getpid()))
    from spark.worker.app import app as celery_app

    argv = [
        *_banner_flags(settings),
        "worker",
        "-Q",
        queues,
        "-c",
        str(concurrency or default_worker_processes()),
        "-P",
        pool,
        "-l",
        loglevel or settings.log_level,
        "-n",
        f"spark{os.getpid()}@%h",
        "-E",
    ]
    if Queue.BUILDS.value in queues.split(","):
        # Builds run for minutes to hours: never hold a second one behind a running one.
        argv += ["--prefetch-multiplier", "1"]
    if state_db is not None:
        # The revoke list survives a restart, so a task revoked while down stays revoked;
        # one file per worker (build-farm machines run one each).
        state_db.parent.mkdir(parents=True, exist_ok=True)
        argv += ["--statedb", str(state_db)]
    celery_app.worker_main(argv)


def parse_targets(text: str) -> list[BuildTarget]:
    """The targets named in text (`WebGL,Android`); a bad name exits naming the valid ones."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    valid = {t.value: t for t in BuildTarget}
    unknown = [name for name in names if name not in valid]
    if unknown or not names:
        what = ", ".join(unknown) if unknown else "none given"
        raise typer.BadParameter(
            f"unknown build target(s): {what}; valid targets: {', '.join(valid)}",
            param_hint="--targets",
        )
    return [valid[name] for name in names]


def builder_queues(queues: str, targets: Sequence[BuildTarget]) -> str:
    """queues with `builds` expanded into `builds` and `builds.<Target>` per declared target.

    A build waits in its target's queue: the Redis transport cannot filter messages on the
    consumer's side, so a builder consumes exactly the lists of the targets it declared. It
    keeps consuming plain `builds`, where messages sent before routing by target still wait.
    The targets are exported as SPARK_BUILD_TARGETS for the worker's own processes.
    """
    names = [q.strip() for q in queues.split(",") if q.strip()]
    if Queue.BUILDS.value not in names:
        return ",".join(names)
    os.environ["SPARK_BUILD_TARGETS"] = ",".join(t.value for t in targets)
    routed = [build_queue(t) for t in targets if build_queue(t) not in names]
    return ",".join([*names, *routed])


def beat(
    loglevel: Annotated[
        str | None, typer.Option(help="Log level (default: SPARK_LOG_LEVEL).", show_default=False)
    ] = None,
) -> None:
    """Run the scheduler: outbox relay and reaper."""
    from spark.worker.app import app as celery_app

    settings = load_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    schedule = settings.var_dir / "celerybeat-schedule"
    level = loglevel or settings.log_level
    logs.configure_process(settings, level)
    celery_app.start([*_banner_flags(settings), "beat", "-l", level, "-s", str(schedule)])


def _banner_flags(settings: Settings) -> list[str]:
    """Celery's global flags: its start-up banner, printed for a person, only on a terminal,
    so a log collector reading JSON lines gets nothing else."""
    return ["--quiet"] if logs.resolved_format(settings.log_format, sys.stderr) == "json" else []


def migrate(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Bring the database schema up to date."""
    settings = load_settings()
    migrate_database(settings)
    if as_json:
        emit_json({"migrated": True, "database": settings.require("database_url").split("@")[-1]})
    else:
        console.print("database is up to date")


def register(app: typer.Typer) -> None:
    """Add the process commands to app (`spark up` has its own module)."""
    for name, command in (
        ("api", api),
        ("worker", worker),
        ("beat", beat),
        ("migrate", migrate),
    ):
        app.command(name)(command)
