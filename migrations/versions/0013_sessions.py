"""Sessions: spark_sessions, and events about a session rather than a job (no job_id).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spark_sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_spark_sessions"),
    )
    op.create_index(
        "ix_spark_sessions_owner_created", "spark_sessions", ["owner", "created_at", "id"]
    )
    op.create_index(
        "ix_spark_sessions_open_active",
        "spark_sessions",
        ["last_active_at"],
        postgresql_where=sa.text("state = 'open'"),
    )
    # A session's started and ended events are about no job. On the partitioned parent, so
    # every partition follows.
    op.alter_column("spark_events", "job_id", existing_type=sa.Uuid(), nullable=True)
    op.alter_column("spark_events", "job_kind", existing_type=sa.String(32), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM spark_events WHERE job_id IS NULL")
    op.alter_column("spark_events", "job_kind", existing_type=sa.String(32), nullable=False)
    op.alter_column("spark_events", "job_id", existing_type=sa.Uuid(), nullable=False)
    op.drop_index("ix_spark_sessions_open_active", table_name="spark_sessions")
    op.drop_index("ix_spark_sessions_owner_created", table_name="spark_sessions")
    op.drop_table("spark_sessions")
