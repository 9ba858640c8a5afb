"""The embedded broker: kombu's file transport, with messages that appear whole.

kombu's file channel writes a message by creating its final name in the queue folder and then
writing into it. A consumer listing the folder in between claims the still-empty file, fails
to decode it, and the message is gone — and the worker's consumer loop dies with it (seen as
`spark up` stopping while beat sent its periodic tasks). Here a message is written under a
staging folder on the same filesystem and renamed into the queue, so a consumer sees it
complete or not at all: rename is atomic within one filesystem.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps

#: the Celery `broker_transport` naming this transport (the URL stays `filesystem://`)
TRANSPORT_PATH = "spark.filebroker:Transport"


class Channel(filesystem.Channel):
    """kombu's file channel, whose messages and exchange tables appear complete."""

    # kombu's own classes disagree on the second parameter's name; this keeps the nearest one.
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # The same name kombu gives a message: its consumers sort and select by it.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        staged = os.path.join(self.transport_options["staging_folder"], name)
        try:
            with open(staged, "wb") as out:
                out.write(dumps(payload).encode())  # type: ignore[no-untyped-call]
            os.replace(staged, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to the queue folder") from exc

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        # kombu creates a missing exchange table by opening it for writing and only then
        # locking it, so a publisher reading it in between finds it empty. An empty table
        # linked into place first means kombu always takes its locked update path.
        table = self._exchange_file(exchange)  # type: ignore[no-untyped-call]
        if not table.exists():
            self.control_folder.mkdir(exist_ok=True)
            staged = os.path.join(
                self.transport_options["staging_folder"], f"{uuid.uuid4()}.exchange"
            )
            with open(staged, "w") as out:
                out.write("[]")
            try:
                os.link(staged, table)
            except FileExistsError:
                pass  # another process created it first
            finally:
                os.unlink(staged)
        super()._queue_bind(exchange, routing_key, pattern, queue)  # type: ignore[no-untyped-call]


class Transport(filesystem.Transport):
    """kombu's file transport on the channel above."""

    Channel = Channel
