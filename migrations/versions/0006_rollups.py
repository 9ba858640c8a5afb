"""Hourly rollups of jobs, tokens and builds, and how far they have got.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _hour() -> sa.Column[object]:
    return sa.Column("hour", sa.DateTime(timezone=True), nullable=False)


def _float(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Float(), nullable=True)


def upgrade() -> None:
    op.create_table(
        "rollup_jobs_hourly",
        _hour(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        _float("duration_p50_s"),
        _float("duration_p95_s"),
        _float("wait_p50_s"),
        _float("wait_p95_s"),
        sa.PrimaryKeyConstraint("hour", "kind", "state", name=op.f("pk_rollup_jobs_hourly")),
    )
    op.create_table(
        "rollup_tokens_hourly",
        _hour(),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "owner", "model", name=op.f("pk_rollup_tokens_hourly")),
    )
    op.create_index("ix_rollup_tokens_hourly_owner_hour", "rollup_tokens_hourly", ["owner", "hour"])
    op.create_table(
        "rollup_builds_hourly",
        _hour(),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("builds", sa.Integer(), nullable=False),
        _float("duration_p95_s"),
        sa.PrimaryKeyConstraint("hour", "target", "result", name=op.f("pk_rollup_builds_hourly")),
    )
    op.create_table(
        "rollup_marks",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("rolled_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_marks")),
    )


def downgrade() -> None:
    op.drop_table("rollup_marks")
    op.drop_table("rollup_builds_hourly")
    op.drop_index("ix_rollup_tokens_hourly_owner_hour", table_name="rollup_tokens_hourly")
    op.drop_table("rollup_tokens_hourly")
    op.drop_table("rollup_jobs_hourly")
