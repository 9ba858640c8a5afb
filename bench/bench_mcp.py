"""`get_job` through MCP against `GET /v1/jobs/{id}`, on the same API process, under wrk.

    .venv/bin/python -m bench.bench_mcp [--seconds S] [--connections C] [--json]

The real `spark api` (one process, the security layer on, tier ceilings lifted) and `spark
consumer` on the run's own servers (bench._resources), one queued job. Each side is wrk (one
thread, a short warm-up, then S seconds) asking for that same job: (http) `GET /v1/jobs/{id}`;
(mcp) a JSON-RPC `tools/call` of `get_job` POSTed to `/mcp`, which SPARK serves stateless, so
no `initialize` and no session id: every POST stands alone. It runs twice: as the handshake
revisions' clients send it (`MCP-Protocol-Version: 2025-11-25`; the SDK's stateless transport,
answered by an event stream holding the one result) and as a 2026-07-28 client does (the
revision's per-request envelope in `params._meta` and the `Mcp-Method`/`Mcp-Name` headers; the
SDK's single-exchange path, answered as JSON when no progress is sent). Every side runs at one
connection (the latency a lone agent sees) and at C (the rate and the latency under load).
The goal: MCP's p50 within 2x the route's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench._cli import terminate
from bench._load import JOB_BODY
from bench._procs import Proc, child_env, free_port, stop_all
from bench._resources import bench_servers, spark_env
from bench._wrk import WrkResult, ensure_wrk, run_wrk, script
from bench.bench_jobs import _api_key

DEFAULT_SECONDS = 10.0
DEFAULT_CONNECTIONS = 32
WARMUP_S = 2.0
#: MCP's p50 over the route's, at most
GOAL_P50_RATIO = 2.0
#: the newest revision of the initialize handshake, served by the SDK's stateless transport
PROTOCOL_VERSION = "2025-11-25"
#: the revision whose every request carries its own envelope (the SDK's single-exchange path)
MODERN_VERSION = "2026-07-28"
#: the route's side, then each MCP side by its protocol revision
HTTP = "HTTP GET"
MCP_SIDES = {f"MCP {PROTOCOL_VERSION}": PROTOCOL_VERSION, f"MCP {MODERN_VERSION}": MODERN_VERSION}
#: in every answer that is a tool's result rather than a tool error
MCP_OK = '"structuredContent":{'


def mcp_call(job_id: str, version: str = PROTOCOL_VERSION) -> dict[str, Any]:
    """The JSON-RPC request: get_job of job_id, with the envelope version's revision wants."""
    params: dict[str, Any] = {"name": "get_job", "arguments": {"job_id": job_id}}
    if version == MODERN_VERSION:
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {},
        }
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


def mcp_headers(token: str, version: str = PROTOCOL_VERSION) -> dict[str, str]:
    """What a streamable-HTTP client of version's revision sends with every POST."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": version,
    }
    if version == MODERN_VERSION:  # the routing headers must repeat the body's method and name
        headers |= {"Mcp-Method": "tools/call", "Mcp-Name": "get_job"}
    return headers


def sse_messages(text: str) -> list[Any]:
    """The JSON-RPC messages of an answer: one JSON object, or an event stream's `data:`."""
    if text.lstrip().startswith("{"):
        return [json.loads(text)]
    messages = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].strip() for line in block.split("\n") if line.startswith("data:")]
        if data and any(data):
            messages.append(json.loads("\n".join(data)))
    return messages


@dataclass(frozen=True)
class Side:
    """What wrk saw for one side at one concurrency, and the API's CPU per answer."""

    wrk: WrkResult
    api_cpu_ms: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self.wrk) | {"per_s": self.wrk.per_s, "api_cpu_ms": self.api_cpu_ms}


@dataclass(frozen=True)
class Ratios:
    """One MCP side over the route's side at the same level."""

    p50: float
    p99: float
    per_s: float

    @classmethod
    def of(cls, mcp: Side, http: Side) -> Ratios:
        m, h = mcp.wrk, http.wrk
        return cls(m.p50_ms / h.p50_ms, m.p99_ms / h.p99_ms, m.per_s / h.per_s)

    @property
    def goal_met(self) -> bool:
        return self.p50 <= GOAL_P50_RATIO


@dataclass(frozen=True)
class Level:
    """Every side at one number of connections: the route's, then each MCP one by name."""

    connections: int
    http: Side
    mcp: tuple[tuple[str, Side], ...]

    def ratios(self) -> list[tuple[str, Ratios]]:
        """Each MCP side's figures over the route's."""
        return [(name, Ratios.of(side, self.http)) for name, side in self.mcp]

    def as_dict(self) -> dict[str, Any]:
        sides = {name: side.as_dict() for name, side in (("http", self.http), *self.mcp)}
        ratios = {name: asdict(r) | {"goal_met": r.goal_met} for name, r in self.ratios()}
        return {"connections": self.connections, "sides": sides, "over_http": ratios}


@dataclass(frozen=True)
class Report:
    servers: str
    seconds: float
    levels: tuple[Level, ...]

    def as_dict(self) -> dict[str, Any]:
        levels = [level.as_dict() for level in self.levels]
        return {"servers": self.servers, "seconds": self.seconds, "cpus": os.cpu_count()} | {
            "goal_p50_ratio": GOAL_P50_RATIO,
            "levels": levels,
        }


@dataclass(frozen=True)
class Api:
    """The API under test, and each side's wrk script (all reading the same job)."""

    proc: Proc
    url: str
    http_lua: str
    #: each MCP side's name and script
    mcp_luas: tuple[tuple[str, str], ...]

    def load(self, lua: str, seconds: float, connections: int) -> Side:
        """Warm up, then wrk for seconds; refuses a run with any failed or wrong answer."""
        run_wrk(self.url, lua, seconds=WARMUP_S, connections=connections)
        cpu0 = self.proc.cpu_seconds()
        result = run_wrk(self.url, lua, seconds=seconds, connections=connections)
        cpu_ms = (self.proc.cpu_seconds() - cpu0) * 1000 / max(result.requests, 1)
        if result.bad_status or result.socket_errors or result.unexpected:
            raise RuntimeError(f"failed answers under load: {result}")
        return Side(result, cpu_ms)


def _start_api(env: dict[str, str], workdir: Path, procs: list[Proc]) -> tuple[Proc, str]:
    consumer = Proc("spark-consumer", ["-m", "spark.cli", "consumer"], child_env(env), workdir)
    procs.append(consumer)
    consumer.start()
    port = free_port()
    args = ["-m", "spark.cli", "api", "--port", str(port), "--workers", "1", "--no-access-log"]
    api = Proc("spark-api", args, child_env(env), workdir)
    procs.append(api)
    api.start()
    url = f"http://127.0.0.1:{port}"
    consumer.wait_for_log("event consumer")
    api.wait_http_ok(f"{url}/v1/health")
    return api, url


def _prepare(proc: Proc, url: str, token: str) -> Api:
    """One queued job (no worker runs), every side's request checked once, their scripts."""
    auth = {"Authorization": f"Bearer {token}"}
    luas = []
    with httpx.Client(base_url=url, timeout=30) as client:
        created = client.post("/v1/jobs", json=JOB_BODY, headers=auth)
        created.raise_for_status()
        job_id = created.json()["id"]
        client.get(f"/v1/jobs/{job_id}", headers=auth).raise_for_status()
        for name, version in MCP_SIDES.items():
            body, headers = mcp_call(job_id, version), mcp_headers(token, version)
            _check_answer(client.post("/mcp", json=body, headers=headers), job_id)
            lua = script("POST", ["/mcp"], headers, json.dumps(body), expect=MCP_OK)
            luas.append((name, lua))
    http_lua = script("GET", [f"/v1/jobs/{job_id}"], auth, None, expect=job_id)
    return Api(proc, url, http_lua, tuple(luas))


def _check_answer(answer: httpx.Response, job_id: str) -> None:
    """The answer is get_job's result for job_id, with the text wrk looks for."""
    answer.raise_for_status()
    (message,) = sse_messages(answer.text)
    result = message.get("result") or {}
    if result.get("isError") or (result.get("structuredContent") or {}).get("id") != job_id:
        raise RuntimeError(f"get_job through MCP did not return the job: {message}")
    if MCP_OK not in answer.text:
        raise RuntimeError(f"the answer lacks {MCP_OK!r}: {answer.text[:300]}")


def levels_for(connections: int) -> tuple[int, ...]:
    """One connection (a lone caller's latency), then the loaded level if it differs."""
    return (1,) if connections == 1 else (1, connections)


def run(seconds: float = DEFAULT_SECONDS, connections: int = DEFAULT_CONNECTIONS) -> Report:
    """Both sides at each level on servers of the run's own; every child is stopped."""
    ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="spark-bench-") as tmp, bench_servers() as db:
        workdir = Path(tmp)
        procs: list[Proc] = []
        try:
            proc, url = _start_api(spark_env(db, workdir / "var"), workdir, procs)
            api = _prepare(proc, url, _api_key(db))
            levels = []
            for c in levels_for(connections):
                http = api.load(api.http_lua, seconds, c)
                mcp = tuple((name, api.load(lua, seconds, c)) for name, lua in api.mcp_luas)
                levels.append(Level(c, http, mcp))
        finally:
            stop_all(procs)
    return Report(db.name, seconds, tuple(levels))


def render(report: Report) -> str:
    """The table: each side at each level, then MCP over HTTP and the goal."""
    head = f"{'side':<16} {'conns':>5} {'requests':>9} {'req/s':>8} {'p50 ms':>8}"
    head += f" {'p99 ms':>8} {'non-2xx':>8} {'api CPU ms/req':>15}"
    lines = [
        f"get_job through MCP vs GET /v1/jobs/{{id}}: one `spark api` process, the same job, "
        f"wrk -t1 for {report.seconds:g} s per side ({report.servers}, {os.cpu_count()} CPUs)",
        head,
    ]
    for level in report.levels:
        for name, side in ((HTTP, level.http), *level.mcp):
            w = side.wrk
            lines.append(
                f"{name:<16} {level.connections:>5} {w.requests:>9} {w.per_s:>8.0f} "
                f"{w.p50_ms:>8.2f} {w.p99_ms:>8.2f} {w.bad_status:>8} {side.api_cpu_ms:>15.2f}"
            )
    for level in report.levels:
        for name, r in level.ratios():
            verdict = "met" if r.goal_met else "NOT met"
            lines.append(
                f"{name} / HTTP at {level.connections} connection(s): p50 {r.p50:.2f}x, "
                f"p99 {r.p99:.2f}x, req/s {r.per_s:.2f}x; goal p50 <= {GOAL_P50_RATIO:g}x: "
                f"{verdict}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table or JSON."""
    parser = argparse.ArgumentParser(prog="bench.bench_mcp", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="load per side")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS, help="wrk -c")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    opts = parser.parse_args(argv)
    if opts.seconds < 1 or opts.connections < 1:
        parser.error("--seconds and --connections must be at least 1")
    signal.signal(signal.SIGTERM, terminate)
    report = run(opts.seconds, opts.connections)
    print(json.dumps(report.as_dict(), indent=2) if opts.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
