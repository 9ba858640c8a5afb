"""The embedded broker: kombu's file transport, with messages that appear whole.

kombu's file channel writes a message by creating its final name in the queue folder and then
writing into it. A consumer listing the folder in between claims the still-empty file, fails
to decode it, and the message is gone — and the worker's consumer loop dies with it (seen as
`spark up` stopping while beat sent its periodic tasks). Here a message is written under a
staging folder on the same filesystem and renamed into the queue, so a consumer sees it
complete or not at all: rename is atomic within one filesystem.

kombu's channel also deletes a message the moment a consumer takes it, and keeps it only in
that worker's memory until it is acknowledged: a worker killed with jobs prefetched loses
them. Here a message taken from a job queue (`tracked_queues`) stays in the processed folder,
named after the process that took it and stamped with the time it was taken, until it is
acknowledged, rejected or given back. What a dead process left there is what `unacknowledged`
lists for the rescue task, as Redis's unacknowledged set is. The process is judged by its id
(the file broker serves one machine); asking a worker instead would not do, since a worker on
this broker answers control messages only between tasks.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from contextlib import suppress
from functools import cached_property
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps, loads

#: the Celery `broker_transport` naming this transport (the URL stays `filesystem://`)
TRANSPORT_PATH = "spark.filebroker:Transport"

#: the message property naming the file a delivery was taken into (its claim)
CLAIM = "spark_claim"


class Channel(filesystem.Channel):
    """kombu's file channel, whose messages and exchange tables appear complete."""

    # kombu's own classes disagree on the second parameter's name; this keeps the nearest one.
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # The same name kombu gives a message: its consumers sort and select by it.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        staged = os.path.join(self._staging, name)
        try:
            with open(staged, "wb") as out:
                out.write(dumps(payload).encode())  # type: ignore[no-untyped-call]
            os.replace(staged, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to the queue folder") from exc

    @cached_property
    def _staging(self) -> str:
        return str(self.transport_options["staging_folder"])

    @cached_property
    def _tracked(self) -> frozenset[str]:
        return frozenset(self.transport_options.get("tracked_queues", ()))

    def _get(self, queue: Any, timeout: Any = None) -> Any:
        """The oldest message of queue, claimed by renaming it into the processed folder (one
        consumer wins the rename); raises Empty when there is none."""
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            claim = f"{os.getpid()}-{name}"
            claimed = os.path.join(self.processed_folder, claim)
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue  # another consumer took it first
            try:
                with open(claimed, "rb") as f:
                    payload = loads(f.read())  # type: ignore[no-untyped-call]
            except OSError as exc:
                raise ChannelError(f"Cannot read {name!r} from the queue") from exc
            if queue in self._tracked:
                os.utime(claimed)  # when it was taken: the rescue judges its age by this
                payload["properties"][CLAIM] = claim
            else:
                os.unlink(claimed)
            return payload
        raise Empty()

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        """Acknowledge, then drop the delivery's claim file."""
        claim = self._claim_of(delivery_tag)
        super().basic_ack(delivery_tag, multiple)  # type: ignore[no-untyped-call]
        self._release(claim)

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        """Reject (requeued messages are written anew), then drop the claim file."""
        claim = self._claim_of(delivery_tag)
        super().basic_reject(delivery_tag, requeue)  # type: ignore[no-untyped-call]
        self._release(claim)

    def _restore(self, message: Any) -> None:
        # A message given back (a worker's warm shutdown) is written anew into its queue.
        super()._restore(message)  # type: ignore[no-untyped-call]
        self._release(message.properties.get(CLAIM))

    def _claim_of(self, delivery_tag: Any) -> str | None:
        try:
            message = self.qos.get(delivery_tag)
        except KeyError:
            return None
        claim: str | None = message.properties.get(CLAIM)
        return claim

    def _release(self, claim: str | None) -> None:
        if claim:
            with suppress(FileNotFoundError):
                os.unlink(os.path.join(self.processed_folder, claim))

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        # kombu creates a missing exchange table by opening it for writing and only then
        # locking it, so a publisher reading it in between finds it empty. An empty table
        # linked into place first means kombu always takes its locked update path.
        table = self._exchange_file(exchange)  # type: ignore[no-untyped-call]
        if not table.exists():
            self.control_folder.mkdir(exist_ok=True)
            staged = os.path.join(self._staging, f"{uuid.uuid4()}.exchange")
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


def unacknowledged(processed: Path, older_than_s: float, limit: int) -> list[tuple[str, Any]]:
    """(claim, message) of up to limit deliveries that a process no longer running took from a
    job queue at least older_than_s ago, oldest first; unreadable claims are skipped."""
    due = time.time() - older_than_s
    found: list[tuple[float, str]] = []
    for entry in os.scandir(processed):
        with suppress(FileNotFoundError):  # acknowledged meanwhile
            taken = entry.stat().st_mtime
            if taken <= due and not _running(entry.name.partition("-")[0]):
                found.append((taken, entry.name))
    out: list[tuple[str, Any]] = []
    for _, name in sorted(found)[:limit]:
        try:
            out.append((name, loads((processed / name).read_bytes())))  # type: ignore[no-untyped-call]
        except (OSError, ValueError):
            continue
    return out


def forget(processed: Path, claims: Iterable[str]) -> None:
    """Drop these deliveries' claims: nothing will list or give them back again."""
    for claim in claims:
        with suppress(FileNotFoundError):
            (processed / claim).unlink()


def _running(pid: str) -> bool:
    """Whether the process with this id (as text) is running on this machine."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    # A killed process its parent has not reaped yet is a zombie: it holds nothing.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: the signal's answer stands
    return stat.rpartition(")")[2].split()[0] != "Z"
