"""A job's stored events, read in order for the API's listing and its live stream.

Reads go to the replica when there is one: a stream polls again a moment later, so an
event that is late to arrive there is only late, never lost.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from spark.db import events as event_queries
from spark.db.executor import Database
from spark.domain.events import Event

#: where a reader is in a job's events: the (ts, id) of the last one it has
Position = tuple[datetime, uuid.UUID]


def after(db: Database, job_id: uuid.UUID, position: Position | None, limit: int) -> list[Event]:
    """Up to limit of the job's events in order, those after position (all when None)."""
    with db.read() as tx:
        return event_queries.events_after(tx, job_id, position, limit)


def position_of(db: Database, job_id: uuid.UUID, event_id: uuid.UUID) -> Position | None:
    """Where the job's event event_id stands, for resuming after it; None if it has none."""
    with db.read() as tx:
        return event_queries.event_position(tx, job_id, event_id)


def owner_since(
    db: Database, owner: str, since: datetime, only: event_queries.EventFilter, limit: int
) -> list[Event]:
    """Up to limit of the owner's jobs' events from since on, oldest first."""
    with db.read() as tx:
        return event_queries.owner_events_since(tx, owner, since, only, limit)
