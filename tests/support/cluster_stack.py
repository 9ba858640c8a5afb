"""The multi-host tier's PostgreSQL, Valkey and NATS, run on its services host by SPARK's own
embedded stack: `python -m tests.support.cluster_stack <folder> <address> <network>`.

The servers listen on the host's address and let the hosts' network in; once every one
answers, their URLs are written to <folder>/urls.json (whole or not at all). SIGTERM stops
them, the database last.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from spark.embedded.stack import EmbeddedStack, StackOptions, StackUrls

URLS_FILE = "urls.json"


def read_urls(folder: Path) -> StackUrls | None:
    """The URLs a started stack wrote under folder, None until it has."""
    try:
        return StackUrls(**json.loads((folder / URLS_FILE).read_text()))
    except FileNotFoundError:
        return None


def main(folder: Path, address: str, network: str) -> None:
    """Start the stack, publish its URLs, and stop it on SIGTERM."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    options = StackOptions(durable=False, bind_address=address, client_network=network)
    stack = EmbeddedStack(folder / "stack", options)
    urls = stack.start()
    try:
        partial = folder / f".{URLS_FILE}"
        partial.write_text(json.dumps(vars(urls)))
        partial.replace(folder / URLS_FILE)
        stopping.wait()
    finally:
        stack.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
