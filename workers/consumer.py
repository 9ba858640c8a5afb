"""Event consumer entry point: `python -m workers.consumer` (or `spark consumer`).

Run as many as needed: processes with the same durable name share the stream's messages.
"""

from __future__ import annotations

import asyncio
import signal

from spark.config import Settings
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


def main() -> None:
    """Start a consumer with the environment's settings (the same as `spark consumer`)."""
    from spark.cli.events import consumer

    consumer()


if __name__ == "__main__":
    main()
