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
    url = settings.nats_url
    db = Database(settings.database_url, pool_size=2)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await consume(db, url, options, stop)

    try:
        asyncio.run(main())
    finally:
        db.dispose()


def start(durable: str | None = None) -> None:
    """Consume with the environment's settings; durable overrides SPARK_CONSUMER_DURABLE."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    options = ConsumerOptions(
        durable=durable or settings.consumer_durable,
        batch=settings.consumer_batch,
        ack_wait_s=settings.consumer_ack_wait_s,
    )
    run(settings, options)


def main() -> None:
    """Start a consumer with the environment's settings (the same as `spark consumer`)."""
    start()


if __name__ == "__main__":
    main()
