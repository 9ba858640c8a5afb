"""Jobs, the dispatch outbox, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = postgresql.JSONB()


def _ts(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("permissions", JSON_DOC, nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        _ts("created_at", nullable=False),
        _ts("revoked_at"),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
    )
    op.create_index(op.f("ix_api_keys_user"), "api_keys", ["user"])

    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("params", JSON_DOC, nullable=False),
        sa.Column("progress_percent", sa.SmallInteger(), nullable=False),
        sa.Column("progress_message", sa.Text(), nullable=False),
        sa.Column("result", JSON_DOC, nullable=True),
        sa.Column("error", JSON_DOC, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("worker", sa.String(255), nullable=True),
        _ts("created_at", nullable=False),
        _ts("started_at"),
        _ts("heartbeat_at"),
        _ts("finished_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
    )
    op.create_index("ix_jobs_owner_created", "jobs", ["owner", "created_at", "id"])
    op.create_index("ix_jobs_state_heartbeat", "jobs", ["state", "heartbeat_at"])

    op.create_table(
        "job_outbox",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("sent_at"),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_outbox_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_job_outbox")),
    )
    op.create_index(op.f("ix_job_outbox_created_at"), "job_outbox", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_job_outbox_created_at"), table_name="job_outbox")
    op.drop_table("job_outbox")
    op.drop_index("ix_jobs_state_heartbeat", table_name="jobs")
    op.drop_index("ix_jobs_owner_created", table_name="jobs")
    op.drop_table("jobs")
    op.drop_index(op.f("ix_api_keys_user"), table_name="api_keys")
    op.drop_table("api_keys")
