"""Events: spark_events (monthly partitions), the event outbox, dead letters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = postgresql.JSONB()

_EVENTS = """
CREATE TABLE spark_events (
    id UUID NOT NULL,
    ts TIMESTAMP WITH TIME ZONE NOT NULL,
    type VARCHAR(16) NOT NULL,
    job_id UUID NOT NULL,
    job_kind VARCHAR(32) NOT NULL,
    session_id VARCHAR(64) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    data JSONB NOT NULL,
    CONSTRAINT pk_spark_events PRIMARY KEY (id, ts)
) PARTITION BY RANGE (ts)
"""


def _months_ahead(count: int) -> list[date]:
    today = datetime.now(UTC).date()
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = year + (month == 12), month % 12 + 1
    return [*months, date(year, month, 1)]


def _events_table() -> None:
    op.execute(_EVENTS)
    bounds = _months_ahead(3)
    for start, end in itertools.pairwise(bounds):
        op.execute(
            f"CREATE TABLE spark_events_{start:%Y_%m} PARTITION OF spark_events "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    op.create_index("ix_spark_events_job", "spark_events", ["job_id", "ts"])


def upgrade() -> None:
    _events_table()
    op.create_table(
        "event_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("envelope", JSON_DOC, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_outbox")),
    )
    op.create_index(op.f("ix_event_outbox_created_at"), "event_outbox", ["created_at"])
    op.create_table(
        "event_dead_letters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_dead_letters")),
    )
    op.create_index(op.f("ix_event_dead_letters_created_at"), "event_dead_letters", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_event_dead_letters_created_at"), table_name="event_dead_letters")
    op.drop_table("event_dead_letters")
    op.drop_index(op.f("ix_event_outbox_created_at"), table_name="event_outbox")
    op.drop_table("event_outbox")
    op.drop_index("ix_spark_events_job", table_name="spark_events")
    # dropping a partitioned table drops its partitions
    op.drop_table("spark_events")
