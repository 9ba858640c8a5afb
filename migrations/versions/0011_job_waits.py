"""A parent job waits for one child at a time without a worker: the child it waits on, and
what it carries from step to step.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("waiting_on", sa.Uuid(), nullable=True))
    op.add_column("jobs", sa.Column("continuation", postgresql.JSONB(), nullable=True))
    # the upkeep's scan for parents whose child has ended reads only the waiting few
    op.create_index(
        "ix_jobs_waiting_on",
        "jobs",
        ["waiting_on"],
        postgresql_where=sa.text("waiting_on IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_waiting_on", table_name="jobs")
    op.drop_column("jobs", "continuation")
    op.drop_column("jobs", "waiting_on")
