"""the call log: every call gets a usage record, refused ones too (outcome "refused"), with what identifies it
(path, method, client address, reasoning effort, the refusal's reason, a presented unknown key's prefix); the
indexes that list the newest calls under one filter; the encrypted bodies table; the retention lock row

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
NEW_COLUMNS = (
    ("path", 300),
    ("method", 10),
    ("reasoning_effort", 32),
    ("refusal_reason", 300),
    ("client_address", 64),
    ("key_prefix", 32),
)
# (name, columns): each listing filter of /api/llm-calls walks one of these newest first (user, key and model
# already have theirs since 0001).
INDEXES = (
    ("ix_usage_provider_time", ("provider", "created_at")),
    ("ix_usage_status_time", ("status_code", "created_at")),
    ("ix_usage_outcome_time", ("outcome", "created_at")),
    ("ix_usage_session_time", ("session_id", "created_at")),
    ("ix_usage_client_time", ("client", "created_at")),
    ("ix_usage_key_prefix_time", ("key_prefix", "created_at")),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # PostgreSQL 12+ adds an enum value inside a transaction; it is only used after this migration commits.
        op.execute("ALTER TYPE outcome ADD VALUE IF NOT EXISTS 'refused'")
    for name, length in NEW_COLUMNS:
        op.add_column("usagerecord", sa.Column(name, String(length=length), nullable=True))
    for name, columns in INDEXES:
        op.create_index(name, "usagerecord", list(columns))
    op.create_table(
        "callbody",
        sa.Column("call_id", String(length=64), primary_key=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False, index=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "maintenancelock",
        sa.Column("name", String(length=64), primary_key=True),
        sa.Column("holder", String(length=64), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("maintenancelock")
    op.drop_table("callbody")
    for name, _ in INDEXES:
        op.drop_index(name, table_name="usagerecord")
    for name, _ in reversed(NEW_COLUMNS):
        op.drop_column("usagerecord", name)
    # PostgreSQL cannot drop an enum value; refused rows are removed so that an older gateway never reads one.
    op.execute("DELETE FROM usagerecord WHERE outcome = 'refused'")
