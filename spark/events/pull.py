"""Pulling batches from a durable JetStream consumer through one callback subscription.

nats-py's `PullSubscription.fetch()` waits for every message of a batch with its own
`next_msg()` (two asyncio tasks and a timer per message), which costs more CPU per event
than validating and storing it. Here the pull request is the same JetStream API message
(`$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`), but the deliveries land in a plain
list through a subscription callback, and only the batch as a whole is awaited.
"""

from __future__ import annotations

import asyncio
import itertools
import json

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import Header

API_PREFIX = "$JS.API"
#: the request ended: no messages now (404), its expiry or no_wait with fewer than asked (408)
_ENDED = frozenset({"404", "408"})
#: an idle heartbeat, when one was asked for; it ends nothing
_HEARTBEAT = "100"


class PullError(Exception):
    """The server refused a pull request (the consumer was deleted, too many waiting …)."""


class Puller:
    """Batches from one durable pull consumer; one fetch at a time per Puller."""

    def __init__(self, nc: Client, stream: str, consumer: str) -> None:
        self._nc = nc
        self._next_subject = f"{API_PREFIX}.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._inbox = nc.new_inbox()
        self._requests = itertools.count()
        self._ready: list[Msg] = []
        #: the current request is over once this many messages are ready
        self._want = 0
        self._reply = ""
        self._ended: asyncio.Future[str] | None = None

    async def start(self) -> None:
        """Subscribe to the inbox every pull request of this Puller is answered on."""
        # No pending limit: what arrives is bounded by the batch sizes asked for and by the
        # consumer's max_ack_pending, never by a slow-consumer cut that would drop messages.
        await self._nc.subscribe(
            f"{self._inbox}.*", cb=self._delivered, pending_msgs_limit=0, pending_bytes_limit=0
        )

    async def fetch(self, batch: int, timeout_s: float) -> list[Msg]:
        """Up to batch messages: those available now, or else the first to arrive within
        timeout_s (an empty list if none did)."""
        if len(self._ready) < batch:
            ended = await self._request(batch, timeout_s)
            await self._until_ended(ended, timeout_s)
        taken, self._ready = self._ready[:batch], self._ready[batch:]
        return taken

    async def _request(self, batch: int, timeout_s: float) -> asyncio.Future[str]:
        # no_wait with expires (nats-server 2.7+): the server sends what it has at once and
        # ends the request (408); with nothing to send it waits up to expires for the first
        # message. So a backlog is drained a full batch at a time, and a lone event goes
        # straight through instead of waiting for a batch to fill.
        self._reply = f"{self._inbox}.{next(self._requests)}"
        self._want = batch
        self._ended = asyncio.get_running_loop().create_future()
        need = batch - len(self._ready)
        request = {"batch": need, "expires": int(timeout_s * 1e9), "no_wait": True}
        await self._nc.publish(self._next_subject, json.dumps(request).encode(), self._reply)
        return self._ended

    async def _until_ended(self, ended: asyncio.Future[str], timeout_s: float) -> None:
        # A request lost to a reconnect is never answered: give up a little after its expiry.
        # Whatever it delivers later is kept for the next fetch.
        done, _ = await asyncio.wait([ended], timeout=timeout_s + 1.0)
        self._ended = None
        if not done:
            return
        status = ended.result()
        if status and status not in _ENDED:
            raise PullError(f"pull request refused: {status}")

    async def _delivered(self, msg: Msg) -> None:
        headers = msg.headers
        status = headers.get(Header.STATUS) if headers else None
        if status is None:
            self._ready.append(msg)
            if len(self._ready) >= self._want:
                self._end("")
            return
        if status == _HEARTBEAT:
            return
        if msg.subject != self._reply:
            return  # the end of an earlier request, which was already given up on
        description = headers.get(Header.DESCRIPTION, "") if headers else ""
        self._end(status if status in _ENDED else f"{status} {description}".strip())

    def _end(self, status: str) -> None:
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(status)
