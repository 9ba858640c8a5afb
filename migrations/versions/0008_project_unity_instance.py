"""A project may name the Unity instance (`Name@hash` or a hash prefix) its editor work goes to
when several editors are connected to one unity-mcp server.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("unity_instance", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("projects", "unity_instance")
