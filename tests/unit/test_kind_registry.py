"""The kind registry holds every fact about each kind of CONTRACT §1, and everything that
needs a kind fact (Celery routes and queues, worker tasks, permissions) agrees with it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel

import celeryconfig
from spark.config import Settings
from spark.contracts.params import Params
from spark.domain.events import EventFamily
from spark.domain.jobs import JobKind
from spark.domain.principals import Permission
from spark.kinds import REGISTRY, KindSpec, spec_of
from spark.security.permissions import Open, rule_for
from spark.worker.tasks import load_handler

#: CONTRACT §1's table (kind → queue) and §7's subject trees, written out independently
CONTRACT_KINDS = {
    "generate_script": ("generation", "runtime"),
    "apply_patch": ("patches", "runtime"),
    "apply_preset": ("generation", "runtime"),
    "generate_asset": ("patches", "runtime"),
    "render_preview": ("previews", "preview"),
    "unity_build": ("builds", "build"),
    "compile_check": ("builds", "build"),
    "export_package": ("patches", "runtime"),
    "run_tests": ("builds", "build"),
    "assist": ("generation", "runtime"),
}
#: declared with every fact but their handler: submissions are refused with a 422 saying so
NOT_YET_SERVED: set[str] = set()


def missing_facts(spec: KindSpec, worker_tasks: Any, config: dict[str, Any]) -> list[str]:
    """The facts spec lacks or gets wrong, by name; empty when the declaration is whole."""
    queue, family = CONTRACT_KINDS[spec.kind.value]
    queues = {q.name for q in config["task_queues"]}
    problems = {
        "queue": spec.queue.value != queue,
        "queue in the Celery config": spec.queue.value not in queues
        or config["task_routes"].get(spec.task_name) != {"queue": queue},
        "event family": spec.family is not EventFamily(family),
        "params model": not (isinstance(spec.params, type) and issubclass(spec.params, Params)),
        "result model": not (isinstance(spec.result, type) and issubclass(spec.result, BaseModel)),
        "permission": not isinstance(spec.permission, Permission),
        "time limits": not 0 < spec.limits.soft_s < spec.limits.hard_s,
        "retry policy": spec.retry.backoff_max_s <= 0,
        "quota hooks": not isinstance(spec.quotas, frozenset),
    }
    missing = [fact for fact, wrong in problems.items() if wrong]
    if spec.kind.value in NOT_YET_SERVED:
        return missing + (["handler"] if spec.handler is not None else [])
    try:
        load_handler(spec)
    except (LookupError, ImportError):
        return [*missing, "handler"]
    task = worker_tasks.get(spec.task_name)
    if task is None or getattr(task, "soft_time_limit", None) != spec.limits.soft_s:
        missing.append("task registered on the worker")
    return missing


@pytest.fixture(scope="module")
def worker_tasks() -> Any:
    # The worker's app is made at import and needs a broker URL (nothing connects to it).
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SPARK_BROKER_URL", "redis://127.0.0.1:1/0")
        from spark.worker.app import app

    return app.tasks


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return celeryconfig.build(Settings(broker_url="redis://127.0.0.1:1/0"))


def test_the_registry_declares_exactly_the_contracts_kinds() -> None:
    """Seven kinds, no more and no fewer, each under its own name."""
    assert {kind.value for kind in REGISTRY} == set(CONTRACT_KINDS)
    assert {kind.value for kind in JobKind} == set(CONTRACT_KINDS)
    assert all(spec.kind is kind for kind, spec in REGISTRY.items())


@pytest.mark.parametrize("kind", sorted(CONTRACT_KINDS))
def test_each_kind_is_declared_with_all_its_facts(
    kind: str, worker_tasks: Any, config: dict[str, Any]
) -> None:
    """Queue, Celery route, family, models, permission, limits, retry, quotas, handler, task."""
    assert missing_facts(spec_of(JobKind(kind)), worker_tasks, config) == []


@pytest.mark.parametrize(
    ("change", "fact"),
    [
        ({"handler": "spark.handlers.scripts:no_such_handler"}, "handler"),
        ({"queue": spec_of(JobKind.UNITY_BUILD).queue}, "queue"),
        ({"family": EventFamily.BUILD}, "event family"),
        ({"params": dict}, "params model"),
    ],
)
def test_a_kind_missing_a_fact_is_reported_by_name(
    change: dict[str, Any], fact: str, worker_tasks: Any, config: dict[str, Any]
) -> None:
    """The walk names what is wrong, so a half-declared kind fails with its fact."""
    broken = dataclasses.replace(spec_of(JobKind.GENERATE_SCRIPT), **change)
    assert fact in missing_facts(broken, worker_tasks, config)


def test_submitting_any_kind_is_governed_by_the_route_table_and_the_kind_permission() -> None:
    """POST /v1/jobs needs credentials; the kind's permission decides; builds need spark:build."""
    assert rule_for("POST", "/v1/jobs").access is Open.AUTHENTICATED
    assert spec_of(JobKind.UNITY_BUILD).permission is Permission.BUILD
    served = [spec for spec in REGISTRY.values() if spec.available]
    assert {spec.permission for spec in served} <= {Permission.GENERATE, Permission.BUILD}


def test_kinds_not_yet_served_are_refused_at_the_api() -> None:
    """Only the declared-but-unserved kinds lack a handler; the API refuses them (422)."""
    assert {s.kind.value for s in REGISTRY.values() if not s.available} == NOT_YET_SERVED
