"""SPARK on several machines: a services host, API hosts, worker and builder hosts, each a
network namespace running SPARK from this checkout with its own var/ (tests/cluster).

The services host (198.18.0.1) runs PostgreSQL, Valkey and NATS from SPARK's embedded stack,
an S3 server, the LLM stand-in and, when asked, a git daemon; every other host runs `spark`
commands pointed at them. The test itself is one more machine on the network, the client
host, so it reaches every host by its address as a user's machine would.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from spark.embedded.stack import StackUrls
from tests.support.cluster_net import Host, Network
from tests.support.cluster_procs import CHECKOUT, VENV_BIN, HostProcess, run_on
from tests.support.cluster_stack import read_urls
from tests.support.fake_llm import DOOR_SCRIPT

SERVICES_ADDRESS = "198.18.0.1"
CLIENT_ADDRESS = "198.18.0.9"
LLM_PORT, S3_PORT, API_PORT = 8080, 9000, 8000
BUCKET = "spark-cluster"
#: short lease and reaper timings: a lost machine's job runs again within seconds
TIMINGS = {
    "SPARK_HEARTBEAT_INTERVAL_S": "0.5",
    "SPARK_LEASE_S": "3",
    "SPARK_REAPER_INTERVAL_S": "1",
    "SPARK_RELAY_INTERVAL_S": "1",
    "SPARK_RELAY_MIN_AGE_S": "1",
    "SPARK_RESCUE_AFTER_S": "3",
    "SPARK_CONSUMER_ACK_WAIT_S": "5",
}
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "spark-cluster",
    "AWS_SECRET_ACCESS_KEY": "spark-cluster-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class Services:
    """Where the services host's servers answer."""

    host: Host
    urls: StackUrls
    llm_url: str
    s3_url: str


def s3_url(host: Host) -> str:
    """The S3 server's endpoint on the services host."""
    return f"http://{host.address}:{S3_PORT}"


def answers(url: str) -> bool:
    """Whether an HTTP server answers at url (any status)."""
    try:
        httpx.get(url, timeout=2.0)
    except httpx.HTTPError:
        return False
    return True


class Cluster:
    """The network, its hosts and every process started on them; stop() ends them all."""

    def __init__(self) -> None:
        root = Path(tempfile.mkdtemp(prefix=f"spark-cluster-{os.getpid()}-"))
        # run as root, Postgres runs as nobody, who must pass through to its host's folder
        root.chmod(0o755)
        self.net = Network(root)
        self.processes: list[HostProcess] = []
        self._services: Services | None = None

    @property
    def services(self) -> Services:
        """The started services host."""
        assert self._services is not None, "the services host is not started"
        return self._services

    def host(self, name: str, number: int) -> Host:
        """The host called name at <subnet>.number, made on first use."""
        return self.net.hosts.get(name) or self.net.add(name, number)

    def start_services(self) -> Services:
        """The bridge, the services host and its servers, all answering."""
        self.net.create()
        host = self.net.add("services", 1)
        python = str(VENV_BIN / "python")
        stack_argv = [python, "-m", "tests.support.cluster_stack", str(host.folder)]
        stack = self.spawn(host, "stack", [*stack_argv, host.address, self.net.network])
        code = host.folder / "generated.cs"
        code.write_text(DOOR_SCRIPT)
        llm_argv = [python, "-m", "tests.support.fake_llm", "--code-file", str(code)]
        llm_argv += ["--host", host.address, "--port", str(LLM_PORT), "--latency-s", "0.2"]
        llm = self.spawn(host, "llm", llm_argv)
        s3 = self._spawn_s3(host)
        llm_url = f"http://{host.address}:{LLM_PORT}/v1"
        stack.wait_until(lambda: read_urls(host.folder) is not None, "serving", timeout=90)
        llm.wait_until(lambda: answers(f"{llm_url}/models"), "serving models")
        s3.wait_until(lambda: answers(s3_url(host)), "serving S3")
        urls = read_urls(host.folder)
        assert urls is not None
        self._services = Services(host, urls, llm_url, s3_url(host))
        return self._services

    def _spawn_s3(self, host: Host) -> HostProcess:
        argv = [str(VENV_BIN / "moto_server"), "-H", host.address, "-p", str(S3_PORT)]
        return self.spawn(host, "s3", argv)

    def stop_s3(self) -> None:
        """Stop the S3 server (moto keeps objects in memory: they go with it)."""
        for proc in self.processes:
            if proc.label == "s3":
                proc.stop()

    def start_s3(self) -> None:
        """Start the S3 server again on its address, empty, and wait until it answers."""
        host = self.services.host
        self._spawn_s3(host).wait_until(lambda: answers(s3_url(host)), "serving S3")

    def env(self, host: Host, **extra: str) -> dict[str, str]:
        """The environment of a SPARK process on host: the services host's servers, this
        host's own var/ and workspaces, short lease timings."""
        services = self.services
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "AWS_"))}
        env |= services.urls.environment() | TIMINGS
        env |= {
            "PYTHONPATH": str(CHECKOUT),
            "SPARK_VAR_DIR": str(host.folder / "var"),
            "SPARK_WORKSPACE_DIR": str(host.folder / "workspaces"),
            "SPARK_LLM_BASE_URL": services.llm_url,
            "SPARK_LLM_MODEL": "fake-coder",
            "SPARK_ALLOW_PRIVATE_DESTINATIONS": "true",
            # every host's folder lies under the run's: a project may name a directory there
            "SPARK_SOURCE_ROOTS": json.dumps([str(self.net.root)]),
            "SPARK_WORKER_METRICS_PORT": "0",
            "SPARK_LOG_FORMAT": "text",
        }
        env |= S3_CREDENTIALS | {
            # artifacts and logs in the services host's object store, where every host finds them
            "SPARK_STORAGE_URL": f"s3://{BUCKET}/spark",
            "SPARK_S3_ENDPOINT_URL": services.s3_url,
        }
        return env | extra

    def spawn(
        self, host: Host, label: str, argv: list[str], env: dict[str, str] | None = None
    ) -> HostProcess:
        """A started long-running process on host, stopped with the cluster."""
        # the services host's programs are modules of this checkout's tests
        env = env if env is not None else os.environ | {"PYTHONPATH": str(CHECKOUT)}
        proc = HostProcess(host, label, argv, env)
        self.processes.append(proc.start())
        return proc

    def spark(self, host: Host, *args: str) -> str:
        """Run one `spark` command on host to its end; what it printed."""
        return run_on(host, [str(VENV_BIN / "spark"), *args], self.env(host)).stdout

    def spark_process(self, host: Host, label: str, *args: str, **env: str) -> HostProcess:
        """A long-running `spark` command on host (its readiness is the caller's)."""
        return self.spawn(host, label, [str(VENV_BIN / "spark"), *args], self.env(host, **env))

    def end_hosts_since(self, mark: int) -> None:
        """Kill every host that started a process after the first mark processes, with all it
        runs (a builder's Unity too), and bring back its link: the next test's hosts start
        clean. The services host keeps running."""
        hosts = {proc.host for proc in self.processes[mark:]} - {self.services.host}
        for host in hosts:
            self.net.kill(host)
            self.net.restore(host)
        for proc in self.processes[mark:]:
            if proc.host in hosts:
                proc.stop(timeout=10)
        self.processes[mark:] = [p for p in self.processes[mark:] if p.host not in hosts]

    def stop(self) -> None:
        """Kill every process and remove every host: nothing of a run is kept, so nothing
        needs a clean stop."""
        self.net.destroy()
        for proc in self.processes:
            proc.stop(timeout=10)
        shutil.rmtree(self.net.root, ignore_errors=True)
