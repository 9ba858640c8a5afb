"""Each host of the tier sees only its own files and reaches the others only by network."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.cluster import Cluster
from tests.support.cluster_procs import run_on
from tests.support.cluster_roles import API_BASE, BUILDER_BASE


def test_a_file_written_on_the_api_host_is_invisible_on_a_builder_host(cluster: Cluster) -> None:
    """The API host writes into its own folder; a builder host sees neither that file nor the
    API host's folder, only its own, and still reaches the services host by address."""
    api = cluster.host("api1", API_BASE + 1)
    builder = cluster.host("builder1", BUILDER_BASE + 1)
    written = api.folder / "var" / "written-on-api1.txt"
    env = dict(os.environ)
    run_on(api, ["sh", "-c", f"mkdir -p {written.parent} && echo api1 > {written}"], env)
    assert written.read_text() == "api1\n"  # the test, outside every host, sees it

    seen = run_on(builder, ["sh", "-c", f"ls -a {api.folder.parent}; ls {written} || true"], env)
    assert sorted(seen.stdout.split()) == [".", "..", builder.name], seen.stdout
    assert "No such file" in seen.stderr

    ping = ["python3", "-c", _connect(cluster.services.host.address, 8080)]
    assert run_on(builder, ping, env).stdout.strip() == "connected"


def test_a_host_has_its_own_name(cluster: Cluster) -> None:
    """Each host answers to its own host name, as SPARK records in a job's worker."""
    builder = cluster.host("builder1", BUILDER_BASE + 1)
    assert run_on(builder, ["hostname"], dict(os.environ)).stdout.strip() == "builder1"
    assert Path("/proc/sys/kernel/hostname").read_text().strip() != "builder1"


def _connect(address: str, port: int) -> str:
    return (
        "import socket; socket.create_connection"
        f"(({address!r}, {port}), timeout=5).close(); print('connected')"
    )
