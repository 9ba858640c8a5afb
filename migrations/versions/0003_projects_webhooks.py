"""Projects, their build webhooks, and each webhook delivery attempt.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("source_dir", sa.Text(), nullable=True),
        sa.Column("git_url", sa.Text(), nullable=True),
        sa.Column("default_ref", sa.String(200), nullable=True),
        sa.Column("unity_mcp_url", sa.Text(), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("owner", "name", name="uq_projects_owner_name"),
    )
    op.create_index("ix_projects_owner_created", "projects", ["owner", "created_at", "id"])

    op.create_table(
        "project_webhooks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_webhooks_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_webhooks")),
    )
    op.create_index(op.f("ix_project_webhooks_project_id"), "project_webhooks", ["project_id"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["project_webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_project_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "delivery_id", "attempt", name="uq_webhook_deliveries_delivery_attempt"
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_webhook_job", "webhook_deliveries", ["webhook_id", "job_id"]
    )
    op.create_index("ix_jobs_project_finished", "jobs", ["project_id", "finished_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_project_finished", table_name="jobs")
    op.drop_index("ix_webhook_deliveries_webhook_job", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index(op.f("ix_project_webhooks_project_id"), table_name="project_webhooks")
    op.drop_table("project_webhooks")
    op.drop_index("ix_projects_owner_created", table_name="projects")
    op.drop_table("projects")
