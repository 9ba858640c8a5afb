"""SPARK's event path vs raw nats-py and psycopg: JetStream publishing and storing events.

    .venv/bin/python -m bench.bench_events [--events N] [--jobs J] [--clients C] [--json]

(a) raw nats-py: N pre-encoded events with js.publish_async, then every ack; (b) SPARK's
NatsPublisher: publish() N events from a plain thread, then flush(); (c) raw psycopg: the same
N rows as multi-row INSERT ... ON CONFLICT DO NOTHING in batches of 500; (d) SPARK's consume()
(batch 500) on a stream holding exactly N events, until all N rows are in spark_events;
(e) J jobs end to end (API + worker) with their events going through NATS to `spark consumer`.
On the run's own servers (bench._resources): NATS with JetStream, PostgreSQL and Valkey.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import nats
import psycopg
from psycopg.types.json import Jsonb

from bench._cli import terminate
from bench._events_jobs import JobsRun, jobs_run, sql_value
from bench._procs import cpu_seconds_since, group_cpu_seconds, server_ticks
from bench._resources import BenchServers, bench_servers
from bench.bench_jobs import _api_key
from spark.db.executor import Database
from spark.domain.events import Event, EventType
from spark.domain.jobs import JobKind
from spark.events.consumer import ConsumerOptions, consume
from spark.events.envelope import STREAM
from spark.events.publisher import NatsPublisher
from spark.events.stream import ensure_stream
from spark.kinds import spec_of

DEFAULT_EVENTS = 20_000
DEFAULT_JOBS = 500
DEFAULT_CLIENTS = 16
BATCH = 500
WARMUP_JOBS = 20
GOAL_STORED_PER_S = 10_000
COUNT_EVENTS = "SELECT count(*) FROM spark_events"
_COLUMNS = "id, ts, type, job_id, job_kind, session_id, subject, data"
#: one job's events as the runner and lifecycle send them: started, progress, completed
_DONE = {"state": "succeeded", "attempts": 1, "duration_s": 0.412, "path": "scripts/Coin.cs"}
_STEPS: list[tuple[EventType, dict[str, Any]]] = [
    (EventType.STARTED, {"attempt": 1}),
    (EventType.PROGRESS, {"percent": 40, "message": "generating the C# script"}),
    (EventType.PROGRESS, {"percent": 90, "message": "checking the syntax tree"}),
    (EventType.COMPLETED, _DONE),
]


def make_events(count: int) -> list[Event]:
    """count fresh events, four per job, over every job kind (so every family's subjects)."""
    kinds = list(JobKind)
    jobs = [uuid.uuid4() for _ in range(math.ceil(count / len(_STEPS)))]
    events = []
    for i in range(count):
        job = i // len(_STEPS)
        type_, data = _STEPS[i % len(_STEPS)]
        kind = kinds[job % len(kinds)]
        family = spec_of(kind).family
        events.append(Event(type_, jobs[job], kind, family, f"bench-{job % 64}", data))
    return events


@dataclass(frozen=True)
class Phase:
    """count events in elapsed_s; CPU seconds of this process, nats-server and Postgres."""

    count: int
    elapsed_s: float
    bench_cpu_s: float
    nats_cpu_s: float
    pg_cpu_s: float

    @property
    def per_s(self) -> float:
        """Events per second."""
        return self.count / self.elapsed_s


class Meter:
    """Times one phase at a time: wall clock, and CPU of this process, nats-server, Postgres."""

    def __init__(self, db: BenchServers) -> None:
        self._nats, self._postgres = db.nats_pid, db.postgres_pid
        self._cpu = 0.0, 0.0
        self._pg: dict[int, int] = {}
        self._start = 0.0

    def start(self) -> None:
        """Start timing (CPU is read first, so reading it is not timed)."""
        self._cpu = time.process_time(), group_cpu_seconds(self._nats)
        self._pg = server_ticks(self._postgres)
        self._start = time.perf_counter()

    def stop(self, count: int) -> Phase:
        """The phase since start(), for count events."""
        elapsed = time.perf_counter() - self._start
        bench, nats_s = time.process_time(), group_cpu_seconds(self._nats)
        pg_s = cpu_seconds_since(self._pg, server_ticks(self._postgres))
        return Phase(count, elapsed, bench - self._cpu[0], nats_s - self._cpu[1], pg_s)


async def _purge_stream(url: str) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        await js.purge_stream(STREAM)
    finally:
        await nc.close()


async def _stream_messages(url: str) -> int:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        return int((await js.stream_info(STREAM)).state.messages)
    finally:
        await nc.close()


async def raw_publish(url: str, events: list[Event], meter: Meter, purge: bool = False) -> Phase:
    """(a) publish_async every pre-encoded event, then wait for every ack."""
    msgs = [(e.subject, e.encode(), {"Nats-Msg-Id": str(e.id)}) for e in events]
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        if purge:
            await js.purge_stream(STREAM)
        meter.start()
        futures = [await js.publish_async(s, data, headers=h) for s, data, h in msgs]
        acks = await asyncio.gather(*futures)
        phase = meter.stop(len(msgs))
    finally:
        await nc.close()
    if any(ack.duplicate for ack in acks):
        raise RuntimeError("raw publish: the stream saw duplicate ids")
    return phase


def spark_publish(
    url: str, db: BenchServers, events: list[Event], meter: Meter
) -> tuple[Phase, int]:
    """(b) NatsPublisher.publish() every event from this (plain) thread, then flush().

    The phase counts the events NATS acknowledged; the int is how many went to the outbox.
    """
    before = asyncio.run(_stream_messages(url))
    database = Database(db.spark_url, pool_size=2)
    publisher = NatsPublisher(url, database)
    try:
        deadline = time.monotonic() + 10  # it connects in the background
        while not publisher.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        meter.start()
        for event in events:
            publisher.publish(event)
        if not publisher.flush(timeout_s=60 + len(events) / 100):
            raise RuntimeError("NatsPublisher.flush() timed out")
        phase = meter.stop(len(events))
    finally:
        publisher.close()
        database.close()
    acked = asyncio.run(_stream_messages(url)) - before
    outboxed = sql_value(db, "SELECT count(*) FROM event_outbox")
    if not acked or acked + outboxed != len(events):
        raise RuntimeError(f"(b) {acked} in the stream + {outboxed} in the outbox != {len(events)}")
    return replace(phase, count=acked), outboxed


def _db_row(e: Event) -> tuple[Any, ...]:
    data = Jsonb(dict(e.data))
    kind = None if e.job_kind is None else e.job_kind.value
    return (e.id, e.ts, e.type.value, e.job_id, kind, e.session_id, e.subject, data)


def raw_insert(db: BenchServers, events: list[Event], meter: Meter) -> Phase:
    """(c) multi-row INSERT ... ON CONFLICT DO NOTHING, one transaction per batch."""
    rows = [_db_row(e) for e in events]
    sql_value(db, "TRUNCATE spark_events CASCADE")
    with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
        meter.start()
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(batch))
            query = f"INSERT INTO spark_events ({_COLUMNS}) VALUES {values} ON CONFLICT DO NOTHING"
            conn.execute(query, [value for row in batch for value in row])
        phase = meter.stop(len(rows))
    if (stored := sql_value(db, COUNT_EVENTS)) != len(rows):
        raise RuntimeError(f"(c) stored {stored} rows of {len(rows)}")
    sql_value(db, "TRUNCATE spark_events CASCADE")
    return phase


async def _until_stored(db: BenchServers, expected: int, task: asyncio.Task[None]) -> None:
    deadline = time.monotonic() + 60 + expected / 200
    async with await psycopg.AsyncConnection.connect(db.psycopg_url, autocommit=True) as conn:
        while True:
            row = await (await conn.execute(COUNT_EVENTS)).fetchone()
            stored = int(row[0]) if row else 0
            if stored >= expected:
                return
            if task.done():
                await task
                raise RuntimeError(f"the consumer stopped with {stored} of {expected} stored")
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {stored} of {expected} events stored in time")
            await asyncio.sleep(0.02)


async def spark_consume(url: str, db: BenchServers, count: int, meter: Meter) -> Phase:
    """(d) consume() with a fresh durable until count rows are in spark_events."""
    database = Database(db.spark_url, pool_size=2)
    options = ConsumerOptions(durable=f"bench-{uuid.uuid4().hex[:10]}", batch=BATCH)
    stop = asyncio.Event()
    meter.start()
    task = asyncio.create_task(consume(database, url, options, stop))
    try:
        await _until_stored(db, count, task)
        phase = meter.stop(count)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)  # returns after its current fetch (at most 1s)
        database.close()
    return phase


@dataclass(frozen=True)
class Report:
    """All figures of one run."""

    servers: str
    raw_publish: Phase
    spark_publish: Phase
    outboxed: int
    raw_insert: Phase
    spark_consume: Phase
    jobs: JobsRun | None

    def ratios(self) -> dict[str, float]:
        """publish (b)/(a) and store (d)/(c)."""
        return {
            "publish": self.spark_publish.per_s / self.raw_publish.per_s,
            "store": self.spark_consume.per_s / self.raw_insert.per_s,
        }

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for --json."""
        phases = ("raw_publish", "spark_publish", "raw_insert", "spark_consume")
        return asdict(self) | {
            "cpus": os.cpu_count(),
            "per_s": {name: getattr(self, name).per_s for name in phases},
            "ratios": self.ratios(),
            "goal_stored_per_s": GOAL_STORED_PER_S,
            "goal_met": self.spark_consume.per_s >= GOAL_STORED_PER_S,
        }


def run(events: int, jobs: int, clients: int) -> Report:
    """Phases (a) to (e) on servers of the run's own; every child and server is stopped."""
    with tempfile.TemporaryDirectory(prefix="spark-bench-ev-") as tmp, bench_servers() as db:
        workdir = Path(tmp)
        (workdir / "var").mkdir()
        url, meter = db.nats_url, Meter(db)
        raw_pub = asyncio.run(raw_publish(url, make_events(events), meter))
        spark_pub, outboxed = spark_publish(url, db, make_events(events), meter)
        stored = make_events(events)
        raw_ins = raw_insert(db, stored, meter)
        # (d) reads a stream holding exactly these N events (purged, then published raw)
        asyncio.run(raw_publish(url, stored, meter, purge=True))
        consumed = asyncio.run(spark_consume(url, db, events, meter))
        run_e: JobsRun | None = None
        if jobs:
            # (e)'s consumer stores only the jobs' own events
            asyncio.run(_purge_stream(url))
            run_e = jobs_run(db, workdir, _api_key(db), jobs, clients)
    return Report(db.name, raw_pub, spark_pub, outboxed, raw_ins, consumed, run_e)


def _row(label: str, count: int, secs: float, rate: str, *cols: str) -> str:
    return f"{label:<46}{count:>7}{secs:>8.2f}{rate:>14}" + "".join(f"{c:>8}" for c in cols)


def _phase_row(label: str, phase: Phase) -> str:
    k = 1e6 / phase.count
    cpu = (phase.bench_cpu_s * k, phase.nats_cpu_s * k, phase.pg_cpu_s * k)
    rate = f"{phase.per_s:,.0f} ev/s"
    return _row(label, phase.count, phase.elapsed_s, rate, *(f"{c:.0f}" for c in cpu))


def _jobs_row(label: str, found: JobsRun) -> str:
    e, per_job = found.e2e, found.events_per_job
    cols = (f"{per_job:.2f}", f"{e.api_cpu_ms_per_job:.1f}", f"{e.worker_cpu_ms_per_job:.1f}")
    return _row(f"    {label}", e.jobs, e.end_to_end_s, f"{e.per_s:,.1f} job/s", *cols)


def _jobs_lines(report: Report) -> list[str]:
    if not report.jobs:
        return ["(e) skipped (--jobs 0)"]
    return [
        f"{'(e) jobs end to end (generate_script)':<46}{'jobs':>7}{'secs':>8}{'rate':>14}"
        f"{'ev/job':>8}{'API':>8}{'worker':>8}  CPU ms/job",
        _jobs_row("events via NATS + spark consumer", report.jobs),
    ]


def render(report: Report) -> str:
    """The human-readable table."""
    ratios, d = report.ratios(), report.spark_consume
    met = "met" if d.per_s >= GOAL_STORED_PER_S else "NOT met"
    return "\n".join([
        f"SPARK event benchmark: {report.servers} (JetStream with a file store), "
        f"{os.cpu_count()} CPUs",
        "",
        f"{'':<46}{'count':>7}{'secs':>8}{'rate':>14}{'bench':>8}{'nats':>8}{'pg':>8}"
        "  CPU ms/1000 events",
        _phase_row("(a) raw nats-py publish_async + acks", report.raw_publish),
        _phase_row("(b) SPARK NatsPublisher publish() + flush()", report.spark_publish),
        _phase_row(f"(c) raw psycopg INSERT, {BATCH} rows/statement", report.raw_insert),
        _phase_row(f"(d) SPARK consume(), batch {BATCH}, until stored", d),
        "",
        f"publish ratio  (b) ev/s / (a) ev/s   = {ratios['publish']:.3f}"
        f"   ((b) events that went to the outbox instead: {report.outboxed})",
        f"store ratio    (d) ev/s / (c) rows/s = {ratios['store']:.3f}",
        f"goal           (d) >= {GOAL_STORED_PER_S:,} events/s stored: {met} ({d.per_s:,.0f})",
        "",
        *_jobs_lines(report),
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table or JSON."""
    parser = argparse.ArgumentParser(prog="bench.bench_events", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events per phase (N)")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="jobs per (e) run; 0 skips")
    parser.add_argument("--clients", type=int, default=DEFAULT_CLIENTS, help="HTTP clients in (e)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    opts = parser.parse_args(argv)
    if opts.events < 1 or opts.jobs < 0 or opts.clients < 1:
        parser.error("--events and --clients must be at least 1, --jobs at least 0")
    signal.signal(signal.SIGTERM, terminate)
    report = run(opts.events, opts.jobs, opts.clients)
    print(json.dumps(report.as_dict(), indent=2) if opts.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
