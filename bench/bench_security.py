"""The security layer's cost per request: one route with the layer on and off, in one run.

    .venv/bin/python -m bench.bench_security [--requests N] [--json]

GET /v1/jobs/{id} of a stored job, through create_app() on the run's own Postgres with the
Redis rate limiter, driven in-process (httpx over ASGI, one request at a time) so only the
app's own work is timed. Four ways in, interleaved request by request so machine drift hits
all alike: the layer off (_unchecked_app: create_app's routes, error handlers, services and
metrics middleware, every request run as one principal: no credential, no permission check,
no rate limit or quota), an API key, an HS256 JWT and an RS256 JWT (key from a JWKS server on
127.0.0.1).
"Added" is each credential's percentile minus the layer-off percentile.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from pydantic import SecretStr
from redis import asyncio as aioredis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bench._cli import Bench
from bench._load import LoadResult
from bench._resources import BenchServers, bench_servers
from fakes import jwks
from spark.config import Settings
from spark.db import submissions as submission_queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.jobs import Job, JobKind, JobState
from spark.domain.principals import DEFAULT_PERMISSIONS, Principal, Tier
from spark.security.apikeys import create_key
from spark.web import errors
from spark.web.app import create_app, routes
from spark.web.metrics import MetricsMiddleware
from spark.web.services import build_services

DEFAULT_REQUESTS = 3000
WARMUP = 200
USER = "bench-user"
WAYS = ("off", "api_key", "jwt_hs256", "jwt_rs256")


@dataclass(frozen=True)
class Way:
    """One way in: its p50/p99/mean latency in ms, and what it adds over the layer off."""

    p50_ms: float
    p99_ms: float
    mean_ms: float
    added_p50_ms: float = 0.0
    added_p99_ms: float = 0.0


def _settings(db: BenchServers, jwks_url: str) -> Settings:
    return Settings(
        database_url=db.spark_url,
        broker_url=db.broker_url,
        redis_url=db.redis_url,
        nats_url=db.nats_url,
        jwt_secret=SecretStr(jwks.HS_SECRET),
        jwt_jwks_url=jwks_url,
        jwt_issuer=jwks.ISSUER,
        jwt_audience=jwks.AUDIENCE,
    )


class _RunAs:
    """The layer off: each request's principal set in scope state, where SecurityMiddleware
    puts the one it authenticated, so routes still have someone to scope data to."""

    def __init__(self, app: ASGIApp, principal: Principal) -> None:
        self.app, self.principal = app, principal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["principal"] = self.principal
        await self.app(scope, receive, send)


def _unchecked_app(settings: Settings, principal: Principal) -> Starlette:
    """create_app's parts with _RunAs in the security layer's place (no lifespan: the
    benchmark drives it over ASGI and closes what it opened itself)."""
    app = Starlette(
        routes=routes(),
        middleware=[Middleware(MetricsMiddleware), Middleware(_RunAs, principal=principal)],
        exception_handlers=dict(errors.HANDLERS),
    )
    app.state.services = build_services(settings)
    return app


def _stored_job(db: Database) -> uuid.UUID:
    job = Job(uuid.uuid4(), USER, JobKind.GENERATE_SCRIPT, JobState.QUEUED, {}, utcnow())
    submission_queries.insert_jobs(db, [submission_queries.Submission(job, "")])
    return job.id


def _credentials(db: Database, key: jwks.SigningKey) -> dict[str, dict[str, str]]:
    """The headers of each way in (the layer-off app needs none)."""
    token = create_key(db, USER, Tier.ENTERPRISE, DEFAULT_PERMISSIONS).token
    claims = jwks.claims(USER, ttl_s=3600, spark_tier="enterprise", scope="spark:read")
    return {
        "off": {},
        "api_key": {"Authorization": f"Bearer {token}"},
        "jwt_hs256": {"Authorization": f"Bearer {jwks.hs256(claims)}"},
        "jwt_rs256": {"Authorization": f"Bearer {jwks.rs256(key, claims)}"},
    }


async def _measure(
    clients: dict[str, httpx.AsyncClient],
    headers: dict[str, dict[str, str]],
    path: str,
    n: int,
    redis_url: str,
) -> dict[str, list[float]]:
    """n rounds of one request per way, in a rotating order, and a bare Redis PING on the
    same event loop for scale (the rate limit is one Redis round trip); latencies in ms."""
    samples: dict[str, list[float]] = {way: [] for way in (*WAYS, "redis_ping")}
    ping = aioredis.Redis.from_url(redis_url)
    for i in range(WARMUP + n):
        started = time.perf_counter()
        await ping.ping()
        if i >= WARMUP:
            samples["redis_ping"].append((time.perf_counter() - started) * 1000)
        for way in WAYS[i % len(WAYS) :] + WAYS[: i % len(WAYS)]:
            started = time.perf_counter()
            resp = await clients[way].get(path, headers=headers[way])
            elapsed = (time.perf_counter() - started) * 1000
            if resp.status_code != 200:
                raise RuntimeError(f"{way}: {resp.status_code} {resp.text[:200]}")
            if i >= WARMUP:
                samples[way].append(elapsed)
    await ping.aclose()
    return samples


def _summarise(samples: dict[str, list[float]]) -> dict[str, Way]:
    ranked = {way: LoadResult(len(s), latencies_ms=s) for way, s in samples.items()}
    base = ranked["off"]
    ways = {}
    for way, r in ranked.items():
        p50, p99 = r.percentile(50), r.percentile(99)
        # The PING is no way in: nothing is added to it.
        over = way in WAYS
        ways[way] = Way(
            p50_ms=p50,
            p99_ms=p99,
            mean_ms=statistics.fmean(samples[way]),
            added_p50_ms=p50 - base.percentile(50) if over else 0.0,
            added_p99_ms=p99 - base.percentile(99) if over else 0.0,
        )
    return ways


async def _run_apps(settings: Settings, job_id: uuid.UUID, n: int, db: Database) -> dict[str, Way]:
    owner = Principal(USER, Tier.ENTERPRISE, DEFAULT_PERMISSIONS)
    off = _unchecked_app(settings, owner)
    key = jwks.SigningKey.generate()
    server = jwks.JwksServer([key]).start()
    try:
        on = create_app(settings.model_copy(update={"jwt_jwks_url": server.url}))
        apps = {"off": off}
        headers = _credentials(db, key)
        clients = {
            way: httpx.AsyncClient(
                transport=httpx.ASGITransport(app=apps.get(way, on)), base_url="http://spark.bench"
            )
            for way in WAYS
        }
        redis_url = settings.require("redis_url")
        samples = await _measure(clients, headers, f"/v1/jobs/{job_id}", n, redis_url)
        for client in clients.values():
            await client.aclose()
        for app in (on, off):
            # httpx's ASGI transport never runs a lifespan: close what it would have.
            await app.state.services.close()
    finally:
        server.stop()
    return _summarise(samples)


def run(n: int) -> dict[str, Any]:
    """The whole benchmark, on servers of its own; every figure as a dict."""
    with bench_servers() as bench_db:
        # The JWKS URL is the real server's, set once it has a port (_run_apps).
        settings = _settings(bench_db, "http://127.0.0.1:9/unused")
        db = Database(settings.require("database_url"))
        try:
            job_id = _stored_job(db)
            ways = asyncio.run(_run_apps(settings, job_id, n, db))
        finally:
            db.close()
    return {
        "requests_per_way": n,
        "ways": {way: asdict(found) for way, found in ways.items()},
        "ratio_p50": {w: ways[w].p50_ms / ways["off"].p50_ms for w in WAYS},
        "ratio_p99": {w: ways[w].p99_ms / ways["off"].p99_ms for w in WAYS},
    }


def render(report: dict[str, Any]) -> str:
    """The report as a table for people."""
    lines = [
        f"SPARK security layer: GET /v1/jobs/{{id}} in-process, {report['requests_per_way']} "
        "requests per way, interleaved; Postgres + Redis limiter on 127.0.0.1",
        "",
        f"{'':<14}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'+p50 ms':>9}{'+p99 ms':>9}"
        f"{'p50 x':>8}{'p99 x':>8}",
    ]
    fmt: Callable[[float], str] = "{:9.3f}".format
    for way in WAYS:
        w = report["ways"][way]
        lines.append(
            f"{way:<14}{fmt(w['p50_ms'])}{fmt(w['p99_ms'])}{fmt(w['mean_ms'])}"
            f"{fmt(w['added_p50_ms'])}{fmt(w['added_p99_ms'])}"
            f"{report['ratio_p50'][way]:8.2f}{report['ratio_p99'][way]:8.2f}"
        )
    ping = report["ways"]["redis_ping"]
    lines += [
        "",
        f"one bare Redis PING on the same event loop: p50 {ping['p50_ms']:.3f} ms, "
        f"p99 {ping['p99_ms']:.3f} ms (the rate limit and quota are one Redis round trip)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table or JSON."""
    return Bench(
        "bench.bench_security",
        __doc__ or "",
        "--requests",
        DEFAULT_REQUESTS,
        "requests per way",
        run,
        render,
        lambda r: r,
    ).main(argv)


if __name__ == "__main__":
    sys.exit(main())
