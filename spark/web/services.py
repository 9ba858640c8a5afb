"""What the API's routes use, built once per app from Settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from spark.artifacts import ArtifactStorage, ArtifactStore
from spark.config import Settings
from spark.db.engine import Database
from spark.domain.principals import Permission, Principal
from spark.errors import Forbidden, Unauthenticated
from spark.events.factory import make_sink
from spark.events.sink import EventSink
from spark.jobs.dispatch import CeleryDispatcher, Dispatcher
from spark.jobs.outbox import SentMarks
from spark.kv.base import BreakerStore
from spark.kv.factory import make_breaker_store
from spark.logstore import LocalLogStore, LogStorage
from spark.security.apikeys import KeyVerifier
from spark.taskqueue import create_celery


@dataclass(frozen=True)
class Services:
    """The API's dependencies; tests build their own instead of patching."""

    settings: Settings
    db: Database
    dispatcher: Dispatcher
    verifier: KeyVerifier
    celery: Any
    marks: SentMarks
    events: EventSink
    breakers: BreakerStore
    artifacts: ArtifactStorage
    logs: LogStorage


def build_services(settings: Settings) -> Services:
    """Wire the production dependencies for settings."""
    db = Database(settings.database_url, settings.database_replica_url)
    celery = create_celery(settings)
    return Services(
        settings=settings,
        db=db,
        dispatcher=CeleryDispatcher(celery),
        verifier=KeyVerifier(db),
        celery=celery,
        marks=SentMarks(db),
        events=make_sink(settings, db),
        breakers=make_breaker_store(settings),
        artifacts=ArtifactStore(settings.artifact_dir),
        logs=LocalLogStore(settings.artifact_dir),
    )


def services(request: Request) -> Services:
    """The services of the app serving request."""
    found: Services = request.app.state.services
    return found


def _presented_key(request: Request) -> str:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        raise Unauthenticated("use 'Authorization: Bearer <api key>'")
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    raise Unauthenticated("no credentials: send 'Authorization: Bearer <api key>' or 'X-API-Key'")


async def authenticate(request: Request, permission: Permission | None) -> Principal:
    """The caller, checked for permission; kept on request.state for later layers."""
    token = _presented_key(request)
    verifier = services(request).verifier
    principal = verifier.verify_cached(token)
    if principal is None:
        principal = await run_in_threadpool(verifier.verify, token)
    request.state.principal = principal
    if permission is not None and not principal.can(permission):
        raise Forbidden(f"this key lacks the {permission.value} permission")
    return principal
