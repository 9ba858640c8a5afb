"""Generation scales out over worker hosts, and any API host serves every job."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import cycle

import httpx
import pytest

from spark.db.executor import Database
from spark.domain.jobs import Job
from tests.support.cluster import Cluster
from tests.support.cluster_roles import Fleet, Running, api, start_workers, worker
from tests.support.fake_llm import DOOR_JOB
from tests.support.jobs import TERMINAL, auth, stored, wait_state

JOBS = 96
#: jobs run, unmeasured, on a fleet before its batch, per worker process: a process's first
#: job opens its pools and loads its parsers, which is start-up, not throughput
WARM_UP_PER_PROCESS = 3
BODY = DOOR_JOB


def submit(apis: list[Running], key: str, count: int) -> list[str]:
    """count generate_script jobs, sent by eight clients at once to the API hosts in turn, on
    kept-alive connections: a new client per request would spend more of the two cores on
    TLS contexts and handshakes than the API spends on the job."""
    limits = httpx.Limits(max_connections=8 * len(apis))
    with httpx.Client(headers=auth(key), timeout=30, limits=limits) as client:

        def post(url: str) -> str:
            resp = client.post(f"{url}/v1/jobs", json=BODY)
            assert resp.status_code == 202, resp.text
            return str(resp.json()["id"])

        urls = [api.url for api, _ in zip(cycle(apis), range(count), strict=False)]
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(post, urls))


def run_batch(
    apis: list[Running], key: str, db: Database, count: int = JOBS
) -> tuple[list[Job], float]:
    """count jobs through the API hosts to their end; the jobs and completed jobs per second
    from the first submission to the last terminal state."""
    began = datetime.now(UTC)
    ids = submit(apis, key, count)
    jobs = [wait_state(db, job_id, TERMINAL, timeout=120) for job_id in ids]
    assert [job.state.value for job in jobs] == ["succeeded"] * count, [j.error for j in jobs]
    ended = max(job.finished_at for job in jobs if job.finished_at is not None)
    return jobs, count / (ended - began).total_seconds()


@pytest.mark.timeout(420)
def test_generation_scales_out_over_worker_hosts_and_any_api_host_serves_every_job(
    cluster: Cluster,
    key: str,
    db: Database,
    scheduling: Fleet,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """generate_script jobs (the LLM stand-in takes 200 ms a call) on 1, 2 and 4 worker hosts
    of two processes: every job succeeds, every worker host runs some, and jobs per second
    are printed with their ratios to one host. Then API host 1 dies: API host 2 still serves
    every job, in its end state."""
    started = Fleet([api(cluster, 1), api(cluster, 2)], [worker(cluster, 1)]).wait(cluster)
    apis, workers = started.apis, list(started.workers)
    rates: dict[int, float] = {}
    shares: dict[int, Counter[str]] = {}
    every: list[Job] = []
    for hosts in (1, 2, 4):
        workers += start_workers(cluster, list(range(len(workers) + 1, hosts + 1)))
        every += run_batch(apis, key, db, WARM_UP_PER_PROCESS * 2 * hosts)[0]
        jobs, rates[hosts] = run_batch(apis, key, db)
        shares[hosts] = Counter(str(job.worker).partition(":")[0] for job in jobs)
        assert set(shares[hosts]) == {w.host.name for w in workers}, shares[hosts]
        every += jobs
    with capsys.disabled():
        print(
            f"\ngenerate_script, {JOBS} jobs after a warm-up, LLM 200 ms a call, "
            "2 processes a worker host:"
        )
        for hosts, rate in rates.items():
            ran = ", ".join(f"{name} {count}" for name, count in sorted(shares[hosts].items()))
            print(f"  {hosts} worker host(s): {rate:.1f} jobs/s, {rate / rates[1]:.2f}x ({ran})")

    cluster.net.kill(apis[0].host)
    with httpx.Client(base_url=apis[1].url, headers=auth(key), timeout=10) as client:
        for job in every:
            seen = client.get(f"/v1/jobs/{job.id}")
            assert seen.status_code == 200, seen.text
            assert seen.json()["state"] == stored(db, job.id).state.value == "succeeded"
