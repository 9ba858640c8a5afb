"""A throwaway Postgres primary with a streaming hot standby, for read-replica tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg

from spark.db import migrate
from spark.embedded.servers import unprivileged_user
from spark.embedded.stack import postgres_bin
from tests.support.services import free_port, listening

#: what the primary needs to feed a hot standby
PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = off
"""
#: trust, replication included: the cluster lives for one test module on 127.0.0.1
HBA = """
local all all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
"""


class StreamingReplica:
    """A primary on one free port and its standby (pg_basebackup -R) on another."""

    def __init__(self, work: Path) -> None:
        self.work = work
        # the binaries of the wheel SPARK's embedded PostgreSQL runs from
        self.bin = postgres_bin()
        self.primary_port, self.standby_port = free_port(), free_port()
        # initdb and the servers refuse to run as root: run them as the account SPARK's
        # embedded PostgreSQL runs as then
        self.user = unprivileged_user()
        self._as = ["runuser", "-u", self.user, "--"] if self.user else []
        self.primary_dir, self.standby_dir = work / "primary", work / "standby"

    def url(self, port: int, database: str = "spark") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.standby_port)

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def _pg_ctl(self, data: Path, port: int, action: str, *extra: str) -> None:
        log = self.work / f"{data.name}.log"
        options = f"-p {port} -k {self.work}"
        pg_ctl = str(self.bin / "pg_ctl")
        self._run(pg_ctl, "-D", str(data), "-l", str(log), "-w", *extra, "-o", options, action)

    def start(self) -> StreamingReplica:
        """Start both, make and migrate the spark database, and wait for the standby to have it."""
        if self.user:
            shutil.chown(self.work, self.user)
        os.chmod(self.work, 0o755)
        initdb = str(self.bin / "initdb")
        self._run(initdb, "-D", str(self.primary_dir), "-U", "postgres", "--auth=trust")
        with (self.primary_dir / "postgresql.conf").open("a") as conf:
            conf.write(PRIMARY_CONF)
        (self.primary_dir / "pg_hba.conf").write_text(HBA)
        self._pg_ctl(self.primary_dir, self.primary_port, "start")
        source = ["-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres"]
        self._run(str(self.bin / "pg_basebackup"), "-R", "-D", str(self.standby_dir), *source)
        self.start_standby()
        with self._connect(self.primary_port, "postgres") as conn:
            conn.execute("CREATE DATABASE spark")
        migrate.upgrade(self.primary_url)
        self.wait_caught_up()
        return self

    def start_standby(self) -> None:
        """Start (or restart) the standby and wait until it accepts connections."""
        self._pg_ctl(self.standby_dir, self.standby_port, "start")
        deadline = time.monotonic() + 30
        while not listening(self.standby_port):
            if time.monotonic() > deadline:
                raise RuntimeError("the standby did not start listening")
            time.sleep(0.1)

    def stop_standby(self) -> None:
        """Kill the standby the way a crash would (no checkpoint, connections cut)."""
        self._pg_ctl(self.standby_dir, self.standby_port, "stop", "-m", "immediate")

    def stop(self) -> None:
        """Stop both servers (the standby may be down already)."""
        for data, port in (
            (self.standby_dir, self.standby_port),
            (self.primary_dir, self.primary_port),
        ):
            if (data / "postmaster.pid").exists():
                self._pg_ctl(data, port, "stop", "-m", "immediate")

    def _connect(
        self, port: int, database: str = "spark"
    ) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{port}/{database}", autocommit=True
        )

    def on_standby(self, sql: str, database: str = "spark") -> object:
        """The first column of sql's first row, run on the standby."""
        with self._connect(self.standby_port, database) as conn:
            row = conn.execute(sql).fetchone()
        return row[0] if row else None

    def pause_replay(self) -> None:
        """The standby keeps receiving WAL but applies none of it until resume_replay."""
        self.on_standby("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.on_standby("SELECT pg_wal_replay_resume()")

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        with self._connect(self.primary_port) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        target = row[0]
        deadline = time.monotonic() + timeout
        sql = f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
        # Asked in the postgres database: replay is the whole cluster's, and `spark` itself
        # may not have reached the standby yet (its CREATE DATABASE is among what it waits for).
        while self.on_standby(sql, "postgres") is not True:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the standby did not replay up to {target}")
            time.sleep(0.05)
