"""Every LLM and tool call on record (owner, session, job, name, model, status, duration,
tokens, cost), and their hourly rollup by user and model.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spark_function_calls",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("model", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spark_function_calls")),
    )
    op.create_index("ix_spark_function_calls_owner_ts", "spark_function_calls", ["owner", "ts"])
    op.create_index("ix_spark_function_calls_ts", "spark_function_calls", ["ts"])
    op.create_index("ix_spark_function_calls_job_id", "spark_function_calls", ["job_id"])
    op.create_index("ix_spark_function_calls_session_id", "spark_function_calls", ["session_id"])
    op.create_table(
        "rollup_calls_hourly",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("tokens_in", sa.BigInteger(), nullable=False),
        sa.Column("tokens_out", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "owner", "model", name=op.f("pk_rollup_calls_hourly")),
    )
    op.create_index("ix_rollup_calls_hourly_hour", "rollup_calls_hourly", ["hour"])


def downgrade() -> None:
    op.drop_table("rollup_calls_hourly")
    op.drop_table("spark_function_calls")
