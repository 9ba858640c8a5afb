"""A job may be a step of another (parent_id), and a file version may be a tombstone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("parent_id", sa.Uuid(), nullable=True))
    op.create_index("ix_jobs_parent_created", "jobs", ["parent_id", "created_at", "id"])
    op.add_column(
        "file_versions",
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("file_versions", "deleted")
    op.drop_index("ix_jobs_parent_created", table_name="jobs")
    op.drop_column("jobs", "parent_id")
