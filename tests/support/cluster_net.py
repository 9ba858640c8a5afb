"""Hosts of the multi-host tests: Linux network namespaces joined by a bridge of their own.

The bridge lives in a namespace of its own too, so the machine's own network is never
touched; every host has one link into it, an address in 198.18.0.0/24 (a range reserved for
network benchmarks) and its loopback. A run's namespaces are named after its process id, so
two runs never meet; a run that died without tearing down is cleaned up by the next one.
Each host's processes see only its own folder of the run's files (tests/support/cluster_procs.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PREFIX_LENGTH = 24
#: what every namespace of this tier is called: sparkc<pid>-<host>
_NAME = re.compile(r"^sparkc(\d+)-")
#: setns(2)'s flag for a network namespace
_CLONE_NEWNET = 0x40000000


class ClusterUnavailable(RuntimeError):
    """This machine cannot run the multi-host tier (not root, or no `ip`)."""


def ip(*args: str) -> str:
    """Run `ip` with args; its output, or CalledProcessError naming what it said."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(
            done.returncode, ["ip", *args], done.stdout, done.stderr
        )
    return done.stdout


def check_machine() -> None:
    """Raise ClusterUnavailable, saying what is missing, unless this process may make hosts."""
    if os.geteuid() != 0:
        raise ClusterUnavailable(
            "the multi-host tier (tests/cluster) makes network namespaces and mounts: run it as"
            " root"
        )
    for tool, package in (("ip", "iproute2"), ("unshare", "util-linux"), ("mount", "util-linux")):
        if shutil.which(tool) is None:
            raise ClusterUnavailable(f"the multi-host tier needs `{tool}` (from {package})")


@dataclass(frozen=True)
class Host:
    """One machine: its network namespace, address, host name and the only files it sees."""

    name: str
    netns: str
    address: str
    folder: Path
    #: its link's end in the bridge's namespace (down: the host is cut off)
    port: str


class Network:
    """The bridge and the hosts on it, all gone after destroy()."""

    def __init__(self, root: Path, subnet: str = "198.18.0") -> None:
        self.root = root
        self.subnet = subnet
        self.run = f"sparkc{os.getpid()}"
        self.bridge = f"{self.run}-bridge"
        self.hosts: dict[str, Host] = {}

    @property
    def network(self) -> str:
        """The hosts' network as a CIDR."""
        return f"{self.subnet}.0/{PREFIX_LENGTH}"

    def create(self) -> None:
        """The bridge, in its own namespace."""
        remove_abandoned()
        ip("netns", "add", self.bridge)
        ip("-n", self.bridge, "link", "add", "br0", "type", "bridge")
        ip("-n", self.bridge, "link", "set", "br0", "up")

    def add(self, name: str, number: int) -> Host:
        """A host at <subnet>.number, with an empty folder of its own."""
        host = Host(
            name=name,
            netns=f"{self.run}-{name}",
            address=f"{self.subnet}.{number}",
            folder=self.root / name,
            port=f"p-{name}"[:15],
        )
        host.folder.mkdir(parents=True)
        # Postgres runs as nobody, who must be able to enter the services host's folder.
        host.folder.chmod(0o755)
        ip("netns", "add", host.netns)
        ip("-n", host.netns, "link", "add", "eth0", "type", "veth", "peer", "name", host.port)
        ip("-n", host.netns, "link", "set", host.port, "netns", self.bridge)
        ip("-n", self.bridge, "link", "set", host.port, "master", "br0", "up")
        ip("-n", host.netns, "addr", "add", f"{host.address}/{PREFIX_LENGTH}", "dev", "eth0")
        ip("-n", host.netns, "link", "set", "eth0", "up")
        ip("-n", host.netns, "link", "set", "lo", "up")
        self.hosts[name] = host
        return host

    def cut(self, host: Host) -> None:
        """Take the host's link down: its packets go nowhere (connections time out, no reset)."""
        ip("-n", self.bridge, "link", "set", host.port, "down")

    def restore(self, host: Host) -> None:
        """Bring the host's link back; its address and routes never left."""
        ip("-n", self.bridge, "link", "set", host.port, "up")

    def kill(self, host: Host) -> None:
        """SIGKILL every process on the host, as pulling its plug would."""
        kill_namespace(host.netns)

    def destroy(self) -> None:
        """Kill every process on every host and remove the namespaces."""
        for host in self.hosts.values():
            kill_namespace(host.netns)
            delete_namespace(host.netns)
        delete_namespace(self.bridge)
        self.hosts.clear()


def pids_in(netns: str) -> list[int]:
    """The processes in a network namespace."""
    try:
        return [int(pid) for pid in ip("netns", "pids", netns).split()]
    except subprocess.CalledProcessError:
        return []


def kill_namespace(netns: str) -> None:
    """SIGKILL everything in the namespace until nothing is left (a dying worker may fork)."""
    for _ in range(50):
        pids = pids_in(netns)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        # the dead leave the list at once (a zombie has no namespace to list)
        time.sleep(0.02)


def delete_namespace(netns: str) -> None:
    """Remove the namespace's name (the kernel frees it with its last process)."""
    with contextlib.suppress(subprocess.CalledProcessError):
        ip("netns", "del", netns)


def remove_abandoned() -> None:
    """Remove the namespaces of earlier runs whose process is gone."""
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.strip() else ""
        found = _NAME.match(name)
        if found and not Path(f"/proc/{found.group(1)}").exists():
            kill_namespace(name)
            delete_namespace(name)


@contextlib.contextmanager
def joined(host: Host) -> Iterator[None]:
    """This thread (and the threads and processes it starts) on the host's network until exit:
    the test talks to the cluster as one of its machines, never from the machine's own network."""
    libc = ctypes.CDLL(None, use_errno=True)
    before = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{host.netns}", os.O_RDONLY)
    try:
        if libc.setns(target, _CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {host.netns}")
        yield
    finally:
        libc.setns(before, _CLONE_NEWNET)
        os.close(target)
        os.close(before)
