"""provider credentials remember the origin (scheme://host:port) they were saved for

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from gateway_api.providers.credential_binding import origin_of

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.add_column("provider", sa.Column("credential_origin", String(length=300), nullable=True))
    # The credentials stored so far were saved for wherever their provider points now.
    provider = sa.table(
        "provider",
        sa.column("id", sa.Integer()),
        sa.column("base_url", String()),
        sa.column("credential_encrypted", String()),
        sa.column("credential_origin", String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(provider.c.id, provider.c.base_url).where(provider.c.credential_encrypted.is_not(None))
    ).all()
    for row_id, base_url in rows:
        connection.execute(
            provider.update().where(provider.c.id == row_id).values(credential_origin=origin_of(base_url))
        )


def downgrade() -> None:
    # SQLite drops a column in place (3.35+) where alembic's batch mode would copy the table.
    op.execute(sa.text("ALTER TABLE provider DROP COLUMN credential_origin"))
