"""`spark consumer`: store the event stream in spark_events."""

from __future__ import annotations

from typing import Annotated

import typer

from spark import logs
from spark.config import load_settings
from spark.events.consumer import ConsumerOptions, run


def consumer(
    durable: Annotated[
        str | None, typer.Option(help="Durable consumer name (processes sharing it share work).")
    ] = None,
) -> None:
    """Run an event consumer (needs SPARK_NATS_URL); stop with Ctrl-C or SIGTERM."""
    settings = load_settings()
    logs.configure_process(settings)
    options = ConsumerOptions(
        durable=durable or settings.consumer_durable,
        batch=settings.consumer_batch,
        ack_wait_s=settings.consumer_ack_wait_s,
    )
    run(settings, options)


def register(app: typer.Typer) -> None:
    """Add `spark consumer` to app."""
    app.command("consumer")(consumer)
