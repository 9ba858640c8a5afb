"""The multi-host tier: SPARK on machines of their own (network namespaces joined by a
bridge), reached by the test from a client machine on the same network.

It needs root and iproute2; without them every test fails saying so.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spark.db.executor import Database
from tests.support.cluster import CLIENT_ADDRESS, Cluster
from tests.support.cluster_net import ClusterUnavailable, check_machine, joined
from tests.support.cluster_roles import Fleet, migrate_and_key, start_scheduling


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The network with its services host running; the test runs on the client host."""
    try:
        check_machine()
        missing = ""
    except ClusterUnavailable as error:
        missing = str(error)
    if missing:
        pytest.fail(missing, pytrace=False)
    running = Cluster()
    try:
        running.start_services()
        client = running.host("client", int(CLIENT_ADDRESS.rsplit(".", 1)[1]))
        with joined(client):
            yield running
    finally:
        running.stop()


@pytest.fixture(scope="module", autouse=True)
def module_hosts(cluster: Cluster) -> Iterator[None]:
    """The hosts a test module starts end with it (the services host stays)."""
    mark = len(cluster.processes)
    yield
    cluster.end_hosts_since(mark)


@pytest.fixture(scope="session")
def key(cluster: Cluster) -> str:
    """An enterprise key, made on the services host once the schema is up to date."""
    return migrate_and_key(cluster, cluster.services.host)


@pytest.fixture(scope="session")
def scheduling(cluster: Cluster, key: str) -> Fleet:
    """`spark beat`, its maintenance worker and `spark consumer`, on the services host."""
    return start_scheduling(cluster, cluster.services.host)


@pytest.fixture(scope="session")
def db(cluster: Cluster, key: str) -> Iterator[Database]:
    """The cluster's database, as the test reads it from the client host."""
    url = cluster.services.urls.database_url
    assert url is not None
    database = Database(url)
    yield database
    database.close()
