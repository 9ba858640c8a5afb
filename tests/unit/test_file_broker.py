"""The embedded file broker delivers every message whole and once, even while consumers poll
the queue folder as the producer writes (kombu's own file channel hands out empty files then).
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from queue import Empty

from kombu.transport import filesystem

from spark.config import Settings
from spark.filebroker import Channel
from spark.taskqueue import create_celery

MESSAGES = 120
#: large messages widen the moment between a file's creation and its last byte
PAYLOAD = "x" * 1_000_000
CONSUMERS = 2


def settings_in(folder: Path) -> Settings:
    return Settings(broker_url=None, var_dir=folder)


def produce(folder: Path) -> None:
    with create_celery(settings_in(folder)).connection_for_write() as conn:
        for i in range(MESSAGES):
            conn.default_channel._put("q", {"i": i, "body": PAYLOAD})


def consume(folder: Path, results: multiprocessing.Queue[tuple[list[int], int]]) -> None:
    taken: list[int] = []
    broken = 0
    deadline = time.monotonic() + 60
    with create_celery(settings_in(folder)).connection_for_read() as conn:
        channel = conn.default_channel
        while time.monotonic() < deadline:
            try:
                message = channel._get("q")
            except Empty:
                if (folder / "done").exists():
                    break
                continue
            except ValueError:  # a message read before it was written
                broken += 1
                continue
            assert message["body"] == PAYLOAD
            taken.append(message["i"])
    results.put((taken, broken))


def test_the_embedded_broker_uses_the_atomic_channel(tmp_path: Path) -> None:
    with create_celery(settings_in(tmp_path)).connection_for_write() as conn:
        channel = conn.default_channel
        assert isinstance(channel, Channel)
        assert isinstance(channel, filesystem.Channel)


def test_consumers_polling_during_writes_get_every_message_once_and_whole(
    tmp_path: Path,
) -> None:
    create_celery(settings_in(tmp_path))  # makes the folders
    spawn = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[tuple[list[int], int]] = spawn.Queue()
    consumers = [spawn.Process(target=consume, args=(tmp_path, results)) for _ in range(CONSUMERS)]
    for process in consumers:
        process.start()
    producer = spawn.Process(target=produce, args=(tmp_path,))
    producer.start()
    producer.join(60)
    (tmp_path / "done").touch()
    outcomes = [results.get(timeout=90) for _ in consumers]
    for process in consumers:
        process.join(10)
    taken = sorted(i for got, _ in outcomes for i in got)
    assert sum(broken for _, broken in outcomes) == 0
    assert taken == list(range(MESSAGES))
    assert not list((tmp_path / "broker" / "staging").iterdir())


EXCHANGES = 150


def bind_all(folder: Path) -> None:
    with create_celery(settings_in(folder)).connection_for_write() as conn:
        for i in range(EXCHANGES):
            conn.default_channel._queue_bind(f"e{i}", "q", "", "q")


def read_tables(folder: Path, results: multiprocessing.Queue[int]) -> None:
    broken = 0
    with create_celery(settings_in(folder)).connection_for_read() as conn:
        channel = conn.default_channel
        while not (folder / "done").exists():
            for i in range(EXCHANGES):
                try:
                    channel.get_table(f"e{i}")
                except ValueError:  # a table read between its creation and its first write
                    broken += 1
    results.put(broken)


def test_publishers_never_read_an_exchange_table_being_created(tmp_path: Path) -> None:
    create_celery(settings_in(tmp_path))
    spawn = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[int] = spawn.Queue()
    readers = [spawn.Process(target=read_tables, args=(tmp_path, results)) for _ in range(2)]
    for process in readers:
        process.start()
    binder = spawn.Process(target=bind_all, args=(tmp_path,))
    binder.start()
    binder.join(60)
    (tmp_path / "done").touch()
    assert [results.get(timeout=60) for _ in readers] == [0, 0]
    for process in readers:
        process.join(10)
    with create_celery(settings_in(tmp_path)).connection_for_read() as conn:
        tables = [conn.default_channel.get_table(f"e{i}") for i in range(EXCHANGES)]
    assert all(len(table) == 1 for table in tables)
