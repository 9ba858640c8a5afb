"""`spark consumer`: store the event stream in spark_events."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from spark import logs
from spark.config import load_settings
from spark.events.consumer import ConsumerOptions, alive_file, run


def consumer(
    durable: Annotated[
        str | None, typer.Option(help="Durable consumer name (processes sharing it share work).")
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit 0 if this machine's consumer turned its loop within --max-age, else 1.",
        ),
    ] = False,
    max_age: Annotated[
        float, typer.Option(min=1, help="Seconds since the last turn --check accepts.")
    ] = 30.0,
) -> None:
    """Run an event consumer (needs SPARK_NATS_URL); stop with Ctrl-C or SIGTERM."""
    settings = load_settings()
    if check:
        raise typer.Exit(0 if _turned_within(alive_file(settings), max_age) else 1)
    logs.configure_process(settings)
    options = ConsumerOptions(
        durable=durable or settings.consumer_durable,
        batch=settings.consumer_batch,
        ack_wait_s=settings.consumer_ack_wait_s,
        alive_file=alive_file(settings),
    )
    run(settings, options)


def _turned_within(path: Path, max_age: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime <= max_age
    except FileNotFoundError:
        return False


def register(app: typer.Typer) -> None:
    """Add `spark consumer` to app."""
    app.command("consumer")(consumer)
