"""Dependency checks behind GET /v1/health."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast
from urllib.parse import urlparse

import redis

from spark import metrics
from spark.config import Settings
from spark.db.executor import Database
from spark.domain.farm import FarmReader
from spark.domain.targets import BuildTarget
from spark.engines.unity.bridge import EditorUnavailable
from spark.engines.unity.mcp_bridge import breaker_name, default_editor, list_instances
from spark.jobs.waiting import waiting_targets
from spark.kv.base import BreakerStore
from spark.storage.blobs import BlobStore

log = logging.getLogger(__name__)

T = TypeVar("T")

Check = Literal["ok", "down", "disabled", "offline", "degraded"]
#: a failing required dependency makes the service unhealthy; an optional one, degraded
REQUIRED = ("database", "broker")
#: the editor's and the LLM's probe timeout, and how long an answer is reused (health is
#: polled often, and each probe is a real round trip to the dependency)
EDITOR_PROBE_TIMEOUT_S = 3.0
EDITOR_PROBE_CACHE_S = 5.0
LLM_PROBE_TIMEOUT_S = 2.0
LLM_PROBE_CACHE_S = 5.0
#: the storage probe (one HEAD of the bucket, or a look at the directory), reused as long
STORAGE_PROBE_CACHE_S = 5.0
#: each probe's last answer, by (check, what it probed): when it was made, and the answer
_answers: dict[tuple[str, str], tuple[float, Any]] = {}
_answers_lock = threading.Lock()


@dataclass(frozen=True)
class EditorCheck:
    """The unity-mcp server's check: ok only with a Unity instance connected to it (the
    server answers MCP on its own, editor or not), and which instances those are."""

    status: Check
    instances: tuple[str, ...] = ()
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"status": self.status, "instances": list(self.instances)}
        if self.error is not None:
            found["error"] = self.error
        return found


@dataclass(frozen=True)
class StorageCheck:
    """The storage port's check: ok when the directory or bucket answers, else down and why."""

    status: Check
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"status": self.status}
        if self.error is not None:
            found["error"] = self.error
        return found


@dataclass(frozen=True)
class BuildsCheck:
    """The farm's check: degraded while queued builds wait for targets no live builder
    declares (naming them), down when the farm registry or the database cannot say."""

    status: Check
    targets_without_builder: tuple[BuildTarget, ...] = ()
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "status": self.status,
            "targets_without_builder": [t.value for t in self.targets_without_builder],
        }
        if self.error is not None:
            found["error"] = self.error
        return found


@dataclass(frozen=True)
class Health:
    """The overall status and each dependency's."""

    status: Literal["healthy", "degraded", "unhealthy"]
    checks: dict[str, Check]
    unity_mcp: EditorCheck
    storage: StorageCheck
    builds: BuildsCheck

    def body_checks(self) -> dict[str, Any]:
        """The checks as GET /v1/health shows them (unity_mcp with its instances, storage
        with its error)."""
        return {
            **self.checks,
            "unity_mcp": self.unity_mcp.as_dict(),
            "storage": self.storage.as_dict(),
            "builds": self.builds.as_dict(),
        }


def _probe(name: str, fn: Callable[[], None]) -> Check:
    try:
        fn()
    except Exception as exc:
        log.warning("health check %s failed: %s", name, exc)
        return "down"
    return "ok"


def _tcp(url: str, default_port: int) -> Callable[[], None]:
    parsed = urlparse(url)

    def connect() -> None:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 1.0
        ):
            pass

    return connect


def _reused(name: str, key: str, ttl_s: float, probe: Callable[[], T]) -> T:
    """probe()'s answer, or the one it gave for key less than ttl_s ago."""
    with _answers_lock:
        cached = _answers.get((name, key))
        if cached is not None and time.monotonic() - cached[0] < ttl_s:
            return cast(T, cached[1])
    answer = probe()
    with _answers_lock:
        _answers[(name, key)] = (time.monotonic(), answer)
    return answer


def _unity_mcp(settings: Settings) -> EditorCheck:
    """The Unity instances connected to the configured unity-mcp server (its
    `mcpforunity://instances`), reused for a few seconds; down with none."""
    editor = default_editor(settings)
    if editor is None:
        return EditorCheck("disabled")

    def check() -> EditorCheck:
        try:
            ids = tuple(i.id for i in list_instances(editor, EDITOR_PROBE_TIMEOUT_S))
        except EditorUnavailable as exc:
            log.warning("health check unity_mcp failed: %s", exc.message)
            return EditorCheck("down", (), exc.message)
        if not ids:
            return EditorCheck("down", (), "no Unity editor is connected")
        return EditorCheck("ok", ids)

    return _reused("unity_mcp", editor.url, EDITOR_PROBE_CACHE_S, check)


def _llm(settings: Settings) -> Check:
    """GET /models on the configured OpenAI-compatible server (with its key), reused for a few
    seconds; offline when none is configured (the offline generator needs nothing)."""
    base_url = settings.llm_base_url
    if not base_url:
        return "offline"
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None

    def check() -> None:
        # imported here: the openai SDK is slow to import and only this check needs it
        from spark.llm.openai_compat import list_models

        list_models(base_url, key, LLM_PROBE_TIMEOUT_S)

    return _reused("llm", base_url, LLM_PROBE_CACHE_S, lambda: _probe("llm", check))


def _storage(settings: Settings, blobs: BlobStore) -> StorageCheck:
    """The blob store's own check, reused for a few seconds."""

    def check() -> StorageCheck:
        try:
            blobs.check()
        except Exception as exc:
            log.warning("health check storage failed: %s", exc)
            return StorageCheck("down", str(exc)[:300])
        return StorageCheck("ok")

    return _reused("storage", settings.storage_url, STORAGE_PROBE_CACHE_S, check)


def _builds(db: Database, farm: FarmReader) -> BuildsCheck:
    """Which targets queued builds wait for with no live builder declaring them."""
    try:
        waiting = waiting_targets(db, farm.read())
    except Exception as exc:
        log.warning("health check builds failed: %s", exc)
        return BuildsCheck("down", error=str(exc)[:300])
    return BuildsCheck("degraded" if waiting else "ok", waiting)


def record_replica_lag(db: Database) -> Check:
    """Ask the replica how far behind it is and export that; down if it does not answer."""
    return _probe("replica", lambda: metrics.set_replica_lag(db.replica_lag()))


def _broker(celery: Any) -> Callable[[], None]:
    def check() -> None:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=1.0)

    return check


def _redis(url: str) -> Callable[[], None]:
    def check() -> None:
        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        try:
            client.ping()
        finally:
            client.close()

    return check


def check_health(
    settings: Settings, db: Database, celery: Any, blobs: BlobStore, farm: FarmReader
) -> Health:
    """Probe every dependency once (blocking; call from a thread)."""
    checks: dict[str, Check] = {
        "database": _probe("database", db.ping),
        "broker": _probe("broker", _broker(celery)),
        "redis": _probe("redis", _redis(settings.require("redis_url"))),
        "nats": _probe("nats", _tcp(settings.require("nats_url"), 4222)),
        "llm": _llm(settings),
    }
    editor = _unity_mcp(settings)
    checks["unity_mcp"] = editor.status
    if db.replica_url is not None:
        # reads fall back to the primary, so a missing replica only degrades the service
        checks["replica"] = record_replica_lag(db)
    # Not required: without storage no artifact is stored or served, but jobs wait for it
    # (a dependency failure), and everything else still works.
    storage = _storage(settings, blobs)
    checks["storage"] = storage.status
    # Builds waiting for a target nobody builds still wait in their queue: degraded. With
    # the database down nobody can say which wait, and asking would only wait out another
    # connection timeout before a probe that has its answer already.
    if checks["database"] == "down":
        builds = BuildsCheck("down", error="the database is down")
    else:
        builds = _builds(db, farm)
    checks["builds"] = builds.status
    if any(checks[name] == "down" for name in REQUIRED):
        status: Literal["healthy", "degraded", "unhealthy"] = "unhealthy"
    elif {"down", "degraded"} & set(checks.values()):
        status = "degraded"
    else:
        status = "healthy"
    return Health(status, checks, editor, storage, builds)


def breaker_states(settings: Settings, store: BreakerStore) -> dict[str, str]:
    """Each known circuit breaker's state (closed, open or half_open)."""
    from spark.resilience.breaker import CircuitBreaker, breaker_policy

    try:
        names = set(store.names())
    except Exception as exc:
        log.warning("breaker states unavailable: %s", exc)
        return {}
    if settings.unity_mcp_url:
        # the configured editor's breaker shows (closed) before its first call
        names.add(breaker_name(settings.unity_mcp_url))
    return {
        n: CircuitBreaker(n, store, breaker_policy(settings)).state().value for n in sorted(names)
    }
