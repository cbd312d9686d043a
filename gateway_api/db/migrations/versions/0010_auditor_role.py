"""the auditor role: read-only on everything admins read, and the only role that reads LLM-call bodies

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # The role is a native enum type. Allowed in a transaction since PostgreSQL 12, as long as this
        # transaction does not use the new value.
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'auditor'")
    elif bind.dialect.name == "sqlite":
        _widen_sqlite_role_column(bind)


def _widen_sqlite_role_column(bind: sa.Connection) -> None:
    """SQLite stores the role as text of any length; only the declared VARCHAR(5) ("admin") is short for
    "auditor". The declaration is rewritten in place (SQLite's documented procedure for changes that leave the
    stored data as is): a batch copy would drop and recreate "user", and with foreign keys on, dropping it
    cascades to every row that points at a user."""
    table_sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'user'")).scalar()
    if table_sql is None or "role VARCHAR(5)" not in table_sql:
        return
    schema_version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'user'"),
        {"sql": table_sql.replace("role VARCHAR(5)", "role VARCHAR(7)")},
    )
    bind.execute(sa.text(f"PRAGMA schema_version = {int(schema_version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value; auditors become plain users, and the unused value stays.
    op.execute("UPDATE \"user\" SET role = 'user' WHERE role = 'auditor'")
