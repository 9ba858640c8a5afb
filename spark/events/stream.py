"""The SPARK JetStream stream, created or updated idempotently at start."""

from __future__ import annotations

import logging
from typing import Any

from nats.js.api import ConsumerConfig, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from spark.events.envelope import STREAM, STREAM_SUBJECTS

log = logging.getLogger(__name__)

#: publishes retried within this window (by the publisher or the outbox relay) are deduplicated
#: by Nats-Msg-Id; longer than any NATS outage the relay is expected to bridge
DUPLICATE_WINDOW_S = 3600.0


def stream_config() -> StreamConfig:
    """The stream's configuration: every spark.> subject, on disk, a week of history."""
    return StreamConfig(
        name=STREAM,
        subjects=list(STREAM_SUBJECTS),
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        max_age=7 * 86400.0,
    )


async def ensure_stream(js: Any) -> None:
    """Create the stream, or bring an existing one to this configuration."""
    config = stream_config()
    try:
        await js.add_stream(config)
    except BadRequestError:
        # It exists with another configuration (an older release): update it in place.
        await js.update_stream(config)


async def ensure_consumer(js: Any, config: ConsumerConfig) -> None:
    """Create the durable consumer unless it exists; an existing one keeps its configuration."""
    if not config.durable_name:
        raise ValueError("a durable consumer needs a name")
    try:
        await js.consumer_info(STREAM, config.durable_name)
    except NotFoundError:
        await js.add_consumer(STREAM, config)


async def quiet_errors(exc: Exception) -> None:
    """nats-py's error callback: one line per error instead of a traceback per retry."""
    log.debug("nats: %s: %s", type(exc).__name__, exc)
