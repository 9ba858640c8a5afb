"""`spark consumer`: store the event stream in spark_events."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from spark.config import load_settings
from spark.events.consumer import ConsumerOptions, run


def consumer(
    durable: Annotated[
        str | None, typer.Option(help="Durable consumer name (processes sharing it share work).")
    ] = None,
) -> None:
    """Run an event consumer (needs SPARK_NATS_URL); stop with Ctrl-C or SIGTERM."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    options = ConsumerOptions(
        durable=durable or settings.consumer_durable,
        batch=settings.consumer_batch,
        ack_wait_s=settings.consumer_ack_wait_s,
    )
    run(settings, options)


def register(app: typer.Typer) -> None:
    """Add `spark consumer` to app."""
    app.command("consumer")(consumer)
