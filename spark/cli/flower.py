"""`spark flower`: Flower, the Celery monitoring UI, on SPARK's Celery app and broker."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from spark import logs
from spark.config import load_settings

log = logging.getLogger(__name__)

# Workers that stop sending heartbeats for this long leave the dashboard: autoscaled or
# redeployed workers get new names, so keeping dead ones would only clutter the list.
PURGE_OFFLINE_WORKERS_S = 60


def flower_argv(host: str, port: int, basic_auth: str | None) -> list[str]:
    """The `celery` argv that runs Flower with these options."""
    argv = [
        "flower",
        f"--address={host}",
        f"--port={port}",
        f"--purge-offline-workers={PURGE_OFFLINE_WORKERS_S}",
    ]
    if basic_auth:
        # Flower splits this on commas: "a:x,b:y" allows two users, so passwords can't hold ",".
        argv.append(f"--basic-auth={basic_auth}")
    return argv


def flower(
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 5555,
) -> None:
    """Run Flower, protected by SPARK_FLOWER_BASIC_AUTH (user:password) when it is set."""
    from spark.worker.app import app as celery_app

    settings = load_settings()
    # Before Flower starts: tornado then sees the root handler and adds no handler of its own.
    logs.configure_process(settings)
    secret = settings.flower_basic_auth
    basic_auth = secret.get_secret_value() if secret is not None else None
    if not basic_auth:
        # Flower still refuses its HTTP API without credentials (unless the operator sets
        # FLOWER_UNAUTHENTICATED_API), but the dashboard itself would be open to anyone.
        log.warning(
            "SPARK_FLOWER_BASIC_AUTH is not set: the Flower UI is unauthenticated"
            " (its API stays closed). Set it to user:password."
        )
    # In-process argv: the password never appears in the process list or in our output.
    celery_app.start(flower_argv(host, port, basic_auth))


def register(app: typer.Typer) -> None:
    """Add `spark flower` to app."""
    app.command("flower")(flower)
