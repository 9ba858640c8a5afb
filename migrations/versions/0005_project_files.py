"""Project files: content-addressed blobs, every version of every path, and each path's
newest version.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project_id"],
        ["projects.id"],
        name=op.f(f"fk_{table}_project_id_projects"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.add_column("jobs", sa.Column("subject", sa.String(255), nullable=True))
    op.create_table(
        "file_blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_file_blobs")),
    )
    op.create_table(
        "file_versions",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("author_subject", sa.String(255), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("message", sa.String(500), nullable=False),
        _ts("created_at"),
        _project_fk("file_versions"),
        sa.ForeignKeyConstraint(
            ["sha256"], ["file_blobs.sha256"], name=op.f("fk_file_versions_sha256_file_blobs")
        ),
        sa.PrimaryKeyConstraint("project_id", "path", "version", name=op.f("pk_file_versions")),
    )
    op.create_index(op.f("ix_file_versions_sha256"), "file_versions", ["sha256"])
    op.create_table(
        "project_files",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        _ts("updated_at"),
        _project_fk("project_files"),
        sa.PrimaryKeyConstraint("project_id", "path", name=op.f("pk_project_files")),
    )


def downgrade() -> None:
    op.drop_table("project_files")
    op.drop_index(op.f("ix_file_versions_sha256"), table_name="file_versions")
    op.drop_table("file_versions")
    op.drop_table("file_blobs")
    op.drop_column("jobs", "subject")
