"""the usage records whose figures were estimated, found without reading the others: a partial index (they are
few), so the usage summary can count them for any filter

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_usage_estimated_time",
        "usagerecord",
        ["created_at"],
        postgresql_where=sa.text("usage_estimated"),
        sqlite_where=sa.text("usage_estimated = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_usage_estimated_time", table_name="usagerecord")
