"""Event consumer entry point: `python -m workers.consumer` (or `spark consumer`).

Run as many as needed: processes with the same durable name share the stream's messages.
"""

from __future__ import annotations

import typer

from spark.cli.events import consumer


def main() -> None:
    """Start a consumer with the environment's settings; takes `spark consumer`'s options."""
    typer.run(consumer)


if __name__ == "__main__":
    main()
