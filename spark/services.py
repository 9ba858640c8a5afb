"""What the API's routes use, wired once per app from Settings.

It lives outside spark.web on purpose: the API holds the databases only as these fields and
hands them to service functions, never importing the modules that open transactions
(pyproject.toml's import contracts).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spark.broker.app import create_celery
from spark.broker.dispatch import CeleryDispatcher, Dispatcher
from spark.broker.outbox import SentMarks
from spark.broker.sending import Sender
from spark.config import Settings, TierLimits, tier_limits
from spark.db.aio import AsyncDatabase
from spark.db.executor import Database
from spark.domain.principals import Tier
from spark.events.factory import make_sink
from spark.events.sink import EventSink
from spark.kv.base import BreakerStore
from spark.kv.factory import make_breaker_store, make_limit_store
from spark.kv.farm import RedisFarm, make_farm
from spark.security.credentials import Authenticator, build_authenticator
from spark.security.destinations import Destinations
from spark.security.limits import LimitStore
from spark.storage.artifacts import Artifacts, ArtifactStorage
from spark.storage.blobs import BlobStore
from spark.storage.factory import make_blobs
from spark.storage.live_logs import make_log_store
from spark.storage.logs import LogStorage


@dataclass(frozen=True)
class Services:
    """The API's dependencies; tests build their own instead of patching."""

    settings: Settings
    db: Database
    #: the same database for the hot paths, without a thread hop (async psycopg on Postgres)
    adb: AsyncDatabase
    dispatcher: Dispatcher
    authenticator: Authenticator
    celery: Any
    marks: SentMarks
    #: publishes accepted jobs' messages from one background thread
    sender: Sender
    events: EventSink
    breakers: BreakerStore
    #: the storage port (a directory or S3), for health; artifacts are kept in it
    blobs: BlobStore
    artifacts: ArtifactStorage
    logs: LogStorage
    #: each tier's limits, resolved once (defaults with SPARK_TIER_LIMITS applied)
    tiers: Mapping[str, TierLimits]
    #: rate limits and the daily request quota, shared by every API process through Redis
    limiter: LimitStore
    #: which URLs a user may register for SPARK to call (webhooks, unity_mcp_url)
    destinations: Destinations
    #: the live builders, as their heartbeats describe them in Redis
    farm: RedisFarm

    async def close(self) -> None:
        """Flush what is batched and release every connection (the app's shutdown)."""
        self.sender.close()
        self.marks.close()
        self.events.close()
        await self.limiter.close()
        await self.adb.close()
        self.db.close()
        self.farm.close()


def build_services(settings: Settings) -> Services:
    """Wire the production dependencies for settings."""
    db = Database(settings.require("database_url"), settings.database_replica_url)
    celery = create_celery(settings)
    dispatcher = CeleryDispatcher(celery)
    marks = SentMarks(db)
    blobs = make_blobs(settings)
    return Services(
        settings=settings,
        db=db,
        adb=AsyncDatabase(db),
        dispatcher=dispatcher,
        authenticator=build_authenticator(settings, db),
        celery=celery,
        marks=marks,
        sender=Sender(dispatcher, marks),
        events=make_sink(settings, db),
        breakers=make_breaker_store(settings),
        blobs=blobs,
        artifacts=Artifacts(blobs),
        logs=make_log_store(settings, blobs),
        tiers={tier.value: tier_limits(settings, tier.value) for tier in Tier},
        limiter=make_limit_store(settings),
        destinations=Destinations(allow_private=settings.allow_private_destinations),
        farm=make_farm(settings),
    )
