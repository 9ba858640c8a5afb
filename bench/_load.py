"""HTTP load on POST /v1/jobs (asyncio + httpx), and waiting for jobs to succeed."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from bench._procs import Proc
from bench._resources import BenchServers, count_succeeded, state_counts

JOB_BODY = {
    "kind": "generate_script",
    "params": {"prompt": "a coin that spins and can be collected", "class_name": "Coin"},
}
#: the body of the i-th POST
Bodies = Callable[[int], dict[str, Any]]


@dataclass
class LoadResult:
    """What the clients saw: wall time, each request's latency, failures."""

    requests: int
    #: perf_counter when the first request went out
    started_at: float = 0.0
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        """Accepted submissions per second."""
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0

    def percentile(self, pct: float) -> float:
        """Latency at pct (nearest rank), in ms."""
        ranked = sorted(self.latencies_ms)
        if not ranked:
            return math.nan
        return ranked[min(len(ranked) - 1, max(0, math.ceil(pct / 100 * len(ranked)) - 1))]


async def _client(
    http: httpx.AsyncClient, tickets: Iterator[int], result: LoadResult, bodies: Bodies
) -> None:
    # The ticket iterator is shared: each client takes the next request until none are left.
    for ticket in tickets:
        start = time.perf_counter()
        try:
            resp = await http.post("/v1/jobs", json=bodies(ticket))
        except httpx.HTTPError as exc:
            result.errors.append(f"{type(exc).__name__}: {exc}")
            continue
        if resp.status_code == 202:
            result.latencies_ms.append((time.perf_counter() - start) * 1000)
        else:
            result.errors.append(f"{resp.status_code}: {resp.text[:300]}")


async def _drive(api_url: str, token: str, count: int, clients: int, bodies: Bodies) -> LoadResult:
    result = LoadResult(count)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=api_url, headers=headers, limits=limits, timeout=60.0
    ) as http:
        tickets = iter(range(count))
        result.started_at = time.perf_counter()
        await asyncio.gather(*(_client(http, tickets, result, bodies) for _ in range(clients)))
        result.elapsed_s = time.perf_counter() - result.started_at
    return result


def post_jobs(
    api_url: str, token: str, count: int, clients: int, bodies: Bodies | None = None
) -> LoadResult:
    """POST count jobs (bodies(i), else JOB_BODY) with clients concurrent connections; raise if
    any was refused."""
    result = asyncio.run(_drive(api_url, token, count, clients, bodies or (lambda _: JOB_BODY)))
    if result.errors:
        first = result.errors[0]
        raise RuntimeError(f"{len(result.errors)} of {count} POSTs failed; first: {first}")
    return result


def wait_succeeded(db: BenchServers, expected: int, worker: Proc, timeout: float) -> float:
    """Poll the database until expected jobs have succeeded; the perf_counter time it happened."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(db.psycopg_url, autocommit=True) as conn:
        while count_succeeded(conn) < expected:
            worker.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"jobs not done in {timeout:.0f}s: {state_counts(db)}")
            time.sleep(0.02)
    return time.perf_counter()
