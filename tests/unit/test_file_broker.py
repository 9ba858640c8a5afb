"""The embedded file broker delivers every message whole and once, even while consumers poll
the queue folder as the producer writes (kombu's own file channel hands out empty files then).
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.transport import filesystem

from spark import filebroker
from spark.broker.app import create_celery
from spark.config import Settings
from spark.filebroker import Channel

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


def race(folder: Path, writer: Callable[[Path], None], reader: Callable[..., None]) -> list[Any]:
    """Two reader processes polling while one writer process works, until it is done; what
    each reader put on its results queue."""
    create_celery(settings_in(folder))  # makes the folders
    spawn = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[Any] = spawn.Queue()
    readers = [spawn.Process(target=reader, args=(folder, results)) for _ in range(CONSUMERS)]
    for process in readers:
        process.start()
    producer = spawn.Process(target=writer, args=(folder,))
    producer.start()
    producer.join(60)
    (folder / "done").touch()
    outcomes = [results.get(timeout=90) for _ in readers]
    for process in readers:
        process.join(10)
    return outcomes


def test_consumers_polling_during_writes_get_every_message_once_and_whole(
    tmp_path: Path,
) -> None:
    outcomes = race(tmp_path, produce, consume)
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
    assert race(tmp_path, bind_all, read_tables) == [0, 0]
    with create_celery(settings_in(tmp_path)).connection_for_read() as conn:
        tables = [conn.default_channel.get_table(f"e{i}") for i in range(EXCHANGES)]
    assert all(len(table) == 1 for table in tables)


JOB_QUEUE = "generation"


def send_job(folder: Path, job_id: str) -> None:
    """A job's task message, sent as the API sends it."""
    app = create_celery(settings_in(folder))
    app.send_task("spark.jobs.generate_script", args=[job_id], task_id=job_id, queue=JOB_QUEUE)


def exited_pid() -> int:
    """The id of a process that has run, exited and been reaped."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def claims(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "broker" / "processed").iterdir())


def queued(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "broker" / "queue").iterdir())


def test_a_taken_job_message_stays_on_disk_until_acknowledged(tmp_path: Path) -> None:
    """Taken: it leaves the queue and waits in the processed folder, listed as unacknowledged
    (so a dead worker's prefetched jobs can be found); acknowledged: gone."""
    with create_celery(settings_in(tmp_path)).connection_for_read() as conn:
        channel = conn.default_channel
        send_job(tmp_path, "job-1")
        message = channel.basic_get(JOB_QUEUE)
        assert message.headers["id"] == "job-1"
        assert queued(tmp_path) == [] and len(claims(tmp_path)) == 1
        message.ack()
        assert claims(tmp_path) == []


def test_only_claims_of_processes_gone_and_old_enough_are_unacknowledged(tmp_path: Path) -> None:
    """A claim of a running process is its own business; one whose process has exited is
    listed once it is older_than_s old."""
    processed = tmp_path / "broker" / "processed"
    with create_celery(settings_in(tmp_path)).connection_for_read() as conn:
        channel = conn.default_channel
        send_job(tmp_path, "job-1")
        channel.basic_get(JOB_QUEUE)
        (claim,) = claims(tmp_path)
        assert claim.startswith(f"{os.getpid()}-")
        assert filebroker.unacknowledged(processed, 0.0, 10) == []
        dead = f"{exited_pid()}-{claim.partition('-')[2]}"
        (processed / claim).rename(processed / dead)
        listed = filebroker.unacknowledged(processed, 0.0, 10)
        assert [(c, m["headers"]["id"]) for c, m in listed] == [(dead, "job-1")]
        assert filebroker.unacknowledged(processed, 60.0, 10) == []
        channel.qos.restore_at_shutdown = False


def test_a_rejected_or_given_back_job_message_is_queued_again_once(tmp_path: Path) -> None:
    """Requeued on reject, and written back on a warm shutdown: each time one file in the
    queue and no claim left behind."""
    with create_celery(settings_in(tmp_path)).connection_for_read() as conn:
        channel = conn.default_channel
        send_job(tmp_path, "job-2")
        channel.basic_get(JOB_QUEUE).reject(requeue=True)
        assert len(queued(tmp_path)) == 1 and claims(tmp_path) == []
        channel.basic_get(JOB_QUEUE)
        assert channel.qos.restore_unacked() == []
        assert len(queued(tmp_path)) == 1 and claims(tmp_path) == []


def test_other_queues_messages_leave_no_claim_and_forget_drops_one(tmp_path: Path) -> None:
    """Events and control messages are deleted once read; forget() drops a dead claim."""
    processed = tmp_path / "broker" / "processed"
    with create_celery(settings_in(tmp_path)).connection_for_read() as conn:
        channel = conn.default_channel
        channel._put("celeryev.x", {"body": "{}", "properties": {}})
        assert channel._get("celeryev.x")["body"] == "{}"
        send_job(tmp_path, "job-3")
        channel.basic_get(JOB_QUEUE)
        # gone without acknowledging or giving back, as a SIGKILLed worker: the claim stays
        channel.qos.restore_at_shutdown = False
    (claim,) = claims(tmp_path)
    filebroker.forget(processed, [claim])
    assert claims(tmp_path) == [] and queued(tmp_path) == []
