"""A user's live event stream reads every job's events by time: an index on (ts, id).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # on the partitioned parent, so every month's partition (now and later) gets it
    op.create_index("ix_spark_events_ts", "spark_events", ["ts", "id"])


def downgrade() -> None:
    op.drop_index("ix_spark_events_ts", table_name="spark_events")
