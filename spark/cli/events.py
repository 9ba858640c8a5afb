"""`spark consumer`: store the event stream in spark_events."""

from __future__ import annotations

from typing import Annotated

import typer

from workers.consumer import start


def consumer(
    durable: Annotated[
        str | None, typer.Option(help="Durable consumer name (processes sharing it share work).")
    ] = None,
) -> None:
    """Run an event consumer (needs SPARK_NATS_URL); stop with Ctrl-C or SIGTERM."""
    start(durable)


def register(app: typer.Typer) -> None:
    """Add `spark consumer` to app."""
    app.command("consumer")(consumer)
