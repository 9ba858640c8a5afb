"""What each kind of host runs in the multi-host tier, started together and waited for by
each one's own signal: the API's health route answering, a worker's answer to a broker ping,
beat's and the consumer's first words."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial

from spark.broker.app import create_celery
from spark.config import Settings
from tests.support.cluster import API_PORT, Cluster, answers
from tests.support.cluster_net import Host
from tests.support.cluster_procs import HostProcess

#: host numbers: the API hosts .11 and up, workers .21 and up, builders .31 and up
API_BASE, WORKER_BASE, BUILDER_BASE = 10, 20, 30
JOB_QUEUES = "generation,patches,previews,maintenance"


@dataclass(frozen=True)
class Running:
    """A SPARK process on its host."""

    host: Host
    process: HostProcess

    @property
    def url(self) -> str:
        """The API's base URL, for an API host."""
        return f"http://{self.host.address}:{API_PORT}"


@dataclass(frozen=True)
class Fleet:
    """Processes started together: API servers, Celery workers, and others with a log line
    that says they run."""

    apis: list[Running] = field(default_factory=list)
    workers: list[Running] = field(default_factory=list)
    logging: list[tuple[Running, str]] = field(default_factory=list)

    def wait(self, cluster: Cluster) -> Fleet:
        """Wait until every one of them is ready."""
        for api in self.apis:
            api.process.wait_until(partial(answers, f"{api.url}/v1/health"), "serving /v1/health")
        for running, line in self.logging:
            running.process.wait_until(partial(said, running.process, line), f"saying {line!r}")
        if self.workers:
            ping_workers(cluster, self.workers)
        return self


def said(proc: HostProcess, line: str) -> bool:
    """Whether the process has logged line."""
    return line in proc.log()


def migrate_and_key(cluster: Cluster, host: Host) -> str:
    """Bring the database up to date from host and make an enterprise key there."""
    cluster.spark(host, "migrate")
    created = cluster.spark(
        host, "keys", "create", "--user", "studio", "--tier", "enterprise", "--json"
    )
    return str(json.loads(created)["key"])


def api(cluster: Cluster, number: int, **env: str) -> Running:
    """`spark api` started on API host number (not yet waited for)."""
    host = cluster.host(f"api{number}", API_BASE + number)
    args = ["api", "--host", host.address, "--port", str(API_PORT), "--no-access-log"]
    return Running(host, cluster.spark_process(host, "api", *args, **env))


def worker(cluster: Cluster, number: int, concurrency: int = 2) -> Running:
    """`spark worker` on the job queues started on worker host number."""
    host = cluster.host(f"worker{number}", WORKER_BASE + number)
    args = ["worker", "--queues", JOB_QUEUES, "--concurrency", str(concurrency)]
    return Running(host, cluster.spark_process(host, "worker", *args))


def builder(cluster: Cluster, number: int, targets: str | None = None, **env: str) -> Running:
    """`spark worker --queues builds` with the Unity stand-in, started on builder host number,
    declaring targets (default: what Unity builds on Linux); the stand-in records its runs in
    the host's unity.jsonl."""
    from fakes.unity import write_launcher

    host = cluster.host(f"builder{number}", BUILDER_BASE + number)
    extra = {
        "SPARK_UNITY_PATH": str(write_launcher(host.folder / "unity")),
        "FAKE_UNITY_RECORD": str(host.folder / "unity.jsonl"),
    }
    args = ["worker", "--queues", "builds", "--concurrency", "1"]
    if targets is not None:
        args += ["--targets", targets]
    return Running(host, cluster.spark_process(host, "builder", *args, **(extra | env)))


def start_api(cluster: Cluster, number: int) -> Running:
    """`spark api` on API host number, serving once its health route answers."""
    return Fleet(apis=[api(cluster, number)]).wait(cluster).apis[0]


def start_workers(cluster: Cluster, numbers: list[int]) -> list[Running]:
    """`spark worker` on each of worker hosts numbers, all answering pings."""
    return Fleet(workers=[worker(cluster, n) for n in numbers]).wait(cluster).workers


def start_builders(
    cluster: Cluster, numbers: list[int], targets: str | None = None, **env: str
) -> list[Running]:
    """A builder on each of builder hosts numbers, all answering pings."""
    started = [builder(cluster, n, targets, **env) for n in numbers]
    return Fleet(workers=started).wait(cluster).workers


def start_scheduling(cluster: Cluster, host: Host) -> Fleet:
    """`spark beat` (the relay and the reaper), a worker on the maintenance queue that runs
    them, and `spark consumer` (events into the database) on host."""
    beat = Running(host, cluster.spark_process(host, "beat", "beat"))
    consumer = Running(host, cluster.spark_process(host, "consumer", "consumer"))
    args = ["worker", "--queues", "maintenance", "--concurrency", "1"]
    maintenance = Running(host, cluster.spark_process(host, "maintenance", *args))
    logging = [(beat, "beat: Starting"), (consumer, "ready")]
    return Fleet(workers=[maintenance], logging=logging).wait(cluster)


def broker_settings(cluster: Cluster) -> Settings:
    """Settings that reach the cluster's broker, for the test's own pings."""
    return Settings(broker_url=cluster.services.urls.broker_url)


def ping_workers(cluster: Cluster, procs: list[Running], timeout: float = 90.0) -> None:
    """Wait until every worker answers a ping through the broker (node spark<pid>@<host>)."""
    app = create_celery(broker_settings(cluster))
    nodes = {f"spark{r.process.pid}@{r.host.name}" for r in procs}
    answered: set[str] = set()

    def all_answer() -> bool:
        for running in procs:
            if not running.process.running:
                raise AssertionError(
                    f"a worker on {running.host.name} exited:\n{running.process.log()[-3000:]}"
                )
        for reply in app.control.ping(destination=sorted(nodes - answered), timeout=0.5):
            answered.update(reply)
        return answered >= nodes

    try:
        procs[0].process.wait_until(all_answer, "answering pings", timeout)
    finally:
        app.close()
