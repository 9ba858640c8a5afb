"""Event consumer entry point: `python -m workers.consumer` (or `spark consumer`).

Run as many as needed: processes with the same durable name share the stream's messages.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from spark.config import Settings, load_settings
from spark.db.engine import Database
from spark.events.consumer import ConsumerOptions, consume


def run(settings: Settings, options: ConsumerOptions) -> None:
    """Consume until SIGINT or SIGTERM."""
    if not settings.nats_url:
        raise SystemExit("SPARK_NATS_URL is not set: without NATS, events are stored directly")
    db = Database(settings.database_url, pool_size=2)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        assert settings.nats_url is not None
        await consume(db, settings.nats_url, options, stop)

    try:
        asyncio.run(main())
    finally:
        db.dispose()


def main() -> None:
    """Start a consumer with the environment's settings."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    options = ConsumerOptions(
        durable=settings.consumer_durable,
        batch=settings.consumer_batch,
        ack_wait_s=settings.consumer_ack_wait_s,
    )
    run(settings, options)


if __name__ == "__main__":
    main()
