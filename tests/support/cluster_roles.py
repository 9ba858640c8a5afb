"""What each kind of host runs in the multi-host tier, started and waited for by its own
signal: the API's health route answering, a worker's answer to a broker ping."""

from __future__ import annotations

import json
from dataclasses import dataclass

from spark.broker.app import create_celery
from spark.config import Settings
from tests.support.cluster import API_PORT, Cluster, answers
from tests.support.cluster_net import Host
from tests.support.cluster_procs import HostProcess

#: host numbers: the API hosts .11 and up, workers .21 and up, builders .31 and up
API_BASE, WORKER_BASE, BUILDER_BASE = 10, 20, 30


@dataclass(frozen=True)
class Running:
    """A SPARK process on its host."""

    host: Host
    process: HostProcess

    @property
    def url(self) -> str:
        """The API's base URL, for an API host."""
        return f"http://{self.host.address}:{API_PORT}"


def migrate_and_key(cluster: Cluster, host: Host) -> str:
    """Bring the database up to date from host and make an enterprise key there."""
    cluster.spark(host, "migrate")
    created = cluster.spark(
        host, "keys", "create", "--user", "studio", "--tier", "enterprise", "--json"
    )
    return str(json.loads(created)["key"])


def start_api(cluster: Cluster, number: int) -> Running:
    """`spark api` on API host number, serving once its health route answers."""
    host = cluster.host(f"api{number}", API_BASE + number)
    args = ["api", "--host", host.address, "--port", str(API_PORT), "--no-access-log"]
    proc = cluster.spark_process(host, "api", *args)
    running = Running(host, proc)
    proc.wait_until(lambda: answers(f"{running.url}/v1/health"), "serving /v1/health")
    return running


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


def start_workers(cluster: Cluster, numbers: list[int], concurrency: int = 2) -> list[Running]:
    """`spark worker` on the job queues on each of worker hosts numbers, all answering."""
    started = []
    for number in numbers:
        host = cluster.host(f"worker{number}", WORKER_BASE + number)
        queues = "generation,patches,previews,maintenance"
        args = ["worker", "--queues", queues, "--concurrency", str(concurrency)]
        started.append(Running(host, cluster.spark_process(host, "worker", *args)))
    ping_workers(cluster, started)
    return started


def start_builders(cluster: Cluster, numbers: list[int], **env: str) -> list[Running]:
    """`spark worker --queues builds` with the Unity stand-in on each of builder hosts numbers."""
    from fakes.unity import write_launcher

    started = []
    for number in numbers:
        host = cluster.host(f"builder{number}", BUILDER_BASE + number)
        unity = write_launcher(host.folder / "unity")
        extra = {
            "SPARK_UNITY_PATH": str(unity),
            "FAKE_UNITY_RECORD": str(host.folder / "unity.jsonl"),
        }
        args = ["worker", "--queues", "builds", "--concurrency", "1"]
        proc = cluster.spark_process(host, "builder", *args, **(extra | env))
        started.append(Running(host, proc))
    ping_workers(cluster, started)
    return started


def start_scheduling(cluster: Cluster, host: Host) -> list[Running]:
    """`spark beat` (the relay and the reaper), a worker on the maintenance queue that runs
    them, and `spark consumer` (events into the database) on host, each once it runs."""
    beat = cluster.spark_process(host, "beat", "beat")
    consumer = cluster.spark_process(host, "consumer", "consumer")
    args = ["worker", "--queues", "maintenance", "--concurrency", "1"]
    maintenance = Running(host, cluster.spark_process(host, "maintenance", *args))
    beat.wait_until(lambda: "beat: Starting" in beat.log(), "scheduling")
    consumer.wait_until(lambda: "ready" in consumer.log(), "consuming")
    ping_workers(cluster, [maintenance])
    return [Running(host, beat), Running(host, consumer), maintenance]
