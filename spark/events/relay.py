"""The event relay: events that waited in the outbox while NATS was away are published."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import nats

from spark import metrics
from spark.db import events as event_queries
from spark.db.executor import Database
from spark.db.types import utcnow
from spark.domain.events import encode_envelope
from spark.events.stream import ensure_stream, quiet_errors

log = logging.getLogger(__name__)


#: a staged terminal event is published by its own process right after commit; the relay
#: leaves it that long before sending it itself (a duplicate would be harmless, only wasted)
STAGED_GRACE_S = 5.0


def relay_events(db: Database, url: str, batch: int = 1000, grace_s: float = STAGED_GRACE_S) -> int:
    """Publish outbox events older than grace_s (same Nats-Msg-Id, so nothing doubles);
    returns how many."""
    return asyncio.run(_relay(db, url, batch, grace_s))


async def _relay(db: Database, url: str, batch: int, grace_s: float) -> int:
    try:
        # One quick attempt: nats-py otherwise keeps retrying a refused connection for minutes,
        # and this runs on a worker process that has jobs to do.
        nc = await asyncio.wait_for(
            nats.connect(
                url,
                connect_timeout=1,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.1,
                error_cb=quiet_errors,
            ),
            timeout=3,
        )
    except Exception as exc:
        log.info("event relay: NATS unavailable (%s)", exc)
        _report_depth(db)
        return 0
    try:
        js = nc.jetstream(timeout=2.0)
        await ensure_stream(js)
        return await _publish_waiting(db, js, batch, grace_s)
    finally:
        await nc.close()
        _report_depth(db)


async def _publish_waiting(db: Database, js: Any, batch: int, grace_s: float) -> int:
    with db.transaction() as tx:
        before = utcnow() - timedelta(seconds=grace_s)
        rows = event_queries.outbox_take(tx, batch, created_before=before)
        results = await asyncio.gather(
            *(
                js.publish(
                    subject, encode_envelope(envelope), headers={"Nats-Msg-Id": str(event_id)}
                )
                for event_id, subject, envelope in rows
            ),
            return_exceptions=True,
        )
        sent = [
            row[0] for row, r in zip(rows, results, strict=True) if not isinstance(r, BaseException)
        ]
        event_queries.outbox_remove(tx, sent)
    metrics.events_published(len(sent))
    if len(sent) < len(rows):
        metrics.events_failed(len(rows) - len(sent))
    if sent:
        log.info("event relay published %d event(s)", len(sent))
    return len(sent)


def _report_depth(db: Database) -> None:
    try:
        metrics.set_event_outbox_depth(event_queries.outbox_depth(db))
    except Exception:
        log.warning("could not read the event outbox depth", exc_info=True)
