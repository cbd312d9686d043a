"""usage records carry the gateway's call id (unique: a replayed record is never stored twice) and whether their
usage was estimated; rows the database refused are kept as dead letters; a concurrent-calls limit

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs, not batch mode: on SQLite a batch copy of usagerecord would drop the rollup triggers of 0004.
    op.add_column("usagerecord", sa.Column("call_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("usagerecord", sa.Column("usage_estimated", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_usagerecord_call_id", "usagerecord", ["call_id"], unique=True)
    op.create_table(
        "usagedeadletter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("call_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("row", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_usagedeadletter_created_at", "usagedeadletter", ["created_at"])
    with op.batch_alter_table("usagelimit") as table:
        table.add_column(sa.Column("max_concurrent_calls", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("usagelimit") as table:
        table.drop_column("max_concurrent_calls")
    op.drop_index("ix_usagedeadletter_created_at", table_name="usagedeadletter")
    op.drop_table("usagedeadletter")
    op.drop_index("ix_usagerecord_call_id", table_name="usagerecord")
    # SQLite drops a column in place (3.35+) where alembic would copy the table and lose 0004's triggers.
    for column in ("usage_estimated", "call_id"):
        op.execute(sa.text(f"ALTER TABLE usagerecord DROP COLUMN {column}"))
