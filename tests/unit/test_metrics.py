"""HTTP metric labels stay bounded, and multiprocess mode is set up before prometheus_client loads."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from spark.domain.breakers import BreakerRecord
from spark.resilience.breaker import BreakerOpen, BreakerPolicy, CircuitBreaker
from spark.web.metrics import MetricsMiddleware, route_template
from spark.web.routes import jobs
from spark.worker.metrics import prepare_multiprocess_dir


async def _ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def _requests(route: str, method: str, status: str) -> float:
    labels = {"route": route, "method": method, "status": status}
    return REGISTRY.get_sample_value("spark_http_requests_total", labels) or 0.0


def _tiny_app() -> Starlette:
    return Starlette(
        routes=[Route("/things/{thing_id:uuid}", _ok, methods=["GET"])],
        middleware=[Middleware(MetricsMiddleware)],
    )


def test_requests_are_labelled_with_the_route_template_not_the_raw_path() -> None:
    """A request for /things/<uuid> counts under "/things/{thing_id}"; the id appears nowhere."""
    thing = uuid.uuid4()
    before = _requests("/things/{thing_id}", "GET", "200")
    with TestClient(_tiny_app()) as client:
        assert client.get(f"/things/{thing}").status_code == 200
    assert _requests("/things/{thing_id}", "GET", "200") == before + 1
    values = [v for fam in REGISTRY.collect() for s in fam.samples for v in s.labels.values()]
    assert not any(str(thing) in v for v in values)


def test_unmatched_paths_and_odd_methods_share_one_label_each() -> None:
    """Unknown paths count as route "unmatched"; a known path with another method keeps its template."""
    before_unmatched = _requests("unmatched", "GET", "404")
    before_405 = _requests("/things/{thing_id}", "DELETE", "405")
    with TestClient(_tiny_app()) as client:
        assert client.get(f"/nowhere/{uuid.uuid4()}").status_code == 404
        assert client.delete(f"/things/{uuid.uuid4()}").status_code == 405
    assert _requests("unmatched", "GET", "404") == before_unmatched + 1
    assert _requests("/things/{thing_id}", "DELETE", "405") == before_405 + 1


def test_the_api_routes_resolve_to_their_templates() -> None:
    """route_template maps the jobs routes to their declared paths, without converters."""
    routes = jobs.routes
    job = uuid.uuid4()

    def scope(method: str, path: str) -> dict[str, object]:
        return {"type": "http", "method": method, "path": path, "root_path": ""}

    assert route_template(routes, scope("POST", "/v1/jobs")) == "/v1/jobs"
    assert route_template(routes, scope("GET", f"/v1/jobs/{job}")) == "/v1/jobs/{job_id}"
    assert route_template(routes, scope("POST", f"/v1/jobs/{job}/cancel")) == (
        "/v1/jobs/{job_id}/cancel"
    )
    assert route_template(routes, scope("GET", "/v1/jobs/not-a-uuid")) == "unmatched"


def test_multiprocess_dir_refuses_to_be_prepared_after_prometheus_client_loaded(
    tmp_path: Path,
) -> None:
    """Once prometheus_client is imported its storage is fixed, so preparing later is an error."""
    with pytest.raises(RuntimeError, match="before prometheus_client"):
        prepare_multiprocess_dir(tmp_path / "prom")
    assert not (tmp_path / "prom").exists()


def test_the_worker_command_path_does_not_load_prometheus_client_early(tmp_path: Path) -> None:
    """Importing the CLI, spark.metrics and the worker's metrics module leaves prometheus_client unloaded."""
    code = (
        "import sys, spark.cli, spark.metrics, spark.worker.metrics;"
        "print('prometheus_client' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


class Records:
    """Breaker records in a dict: these tests are about the gauge, not where records live."""

    def __init__(self) -> None:
        self.records: dict[str, BreakerRecord] = {}

    def read(self, name: str) -> BreakerRecord:
        return self.records.get(name, BreakerRecord())

    def update(self, name: str, change: Callable[[BreakerRecord], BreakerRecord]) -> BreakerRecord:
        self.records[name] = change(self.read(name))
        return self.records[name]

    def names(self) -> list[str]:
        return sorted(self.records)


def _breaker_open(name: str) -> float | None:
    return REGISTRY.get_sample_value("spark_breaker_open", {"breaker": name})


def _fail() -> None:
    raise OSError("down")


def test_the_breaker_gauge_is_1_while_open_and_0_once_a_call_succeeds() -> None:
    """Failures that open a breaker set spark_breaker_open to 1; a refused call keeps it 1;
    a successful trial after the reset time brings it back to 0."""
    name = f"dep-{uuid.uuid4().hex[:8]}"
    policy = BreakerPolicy(failures_to_open=2, reset_after_s=0.0, successes_to_close=1)
    breaker = CircuitBreaker(name, Records(), policy)
    for _ in range(2):
        with pytest.raises(OSError):
            breaker.call(_fail, counts=lambda exc: True)
    assert _breaker_open(name) == 1
    assert breaker.call(lambda: "ok", counts=lambda exc: True) == "ok"
    assert _breaker_open(name) == 0


def test_a_refused_call_keeps_the_breaker_gauge_at_1() -> None:
    """While the reset time has not passed, calls are refused and the gauge stays 1."""
    name = f"dep-{uuid.uuid4().hex[:8]}"
    policy = BreakerPolicy(failures_to_open=1, reset_after_s=3600.0)
    breaker = CircuitBreaker(name, Records(), policy)
    with pytest.raises(OSError):
        breaker.call(_fail, counts=lambda exc: True)
    with pytest.raises(BreakerOpen):
        breaker.call(lambda: "ok", counts=lambda exc: True)
    assert _breaker_open(name) == 1
