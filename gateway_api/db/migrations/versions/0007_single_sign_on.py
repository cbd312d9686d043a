"""single sign-on: users remember their identity provider subject, groups say whether SSO manages them, and the
sign-ins in progress (through the identity provider, and CLIs waiting for a code to be confirmed)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
UtcDateTime = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    # Plain ALTERs, not batch mode: on SQLite a batch copy drops and recreates the table, and dropping "user" with
    # foreign keys on would cascade into every key and membership.
    op.add_column("user", sa.Column("oidc_subject", String(length=255), nullable=True))
    op.create_index("ix_user_oidc_subject", "user", ["oidc_subject"], unique=True)
    op.add_column("group", sa.Column("synced_from_sso", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "devicesignin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_code_digest", String(length=64), nullable=False),
        sa.Column("user_code", String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("last_polled_at", UtcDateTime(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", UtcDateTime(), nullable=True),
        sa.Column("denied_at", UtcDateTime(), nullable=True),
        sa.Column("redeemed_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_devicesignin_device_code_digest", "devicesignin", ["device_code_digest"], unique=True)
    op.create_index("ix_devicesignin_user_code", "devicesignin", ["user_code"], unique=True)
    op.create_index("ix_devicesignin_expires_at", "devicesignin", ["expires_at"])
    op.create_table(
        "ssosignin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_digest", String(length=64), nullable=False),
        sa.Column("binding_digest", String(length=64), nullable=False),
        sa.Column("purpose", String(length=16), nullable=False),
        sa.Column("return_to", String(length=500), nullable=False),
        sa.Column("client_challenge", String(length=128), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("callback_at", UtcDateTime(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("handoff_digest", String(length=64), nullable=True),
        sa.Column("handoff_expires_at", UtcDateTime(), nullable=True),
        sa.Column("handoff_used_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devicesignin.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ssosignin_state_digest", "ssosignin", ["state_digest"], unique=True)
    op.create_index("ix_ssosignin_handoff_digest", "ssosignin", ["handoff_digest"], unique=True)
    op.create_index("ix_ssosignin_expires_at", "ssosignin", ["expires_at"])


def downgrade() -> None:
    op.drop_table("ssosignin")
    op.drop_table("devicesignin")
    op.drop_index("ix_user_oidc_subject", table_name="user")
    # SQLite drops a column in place (3.35+) where alembic's batch mode would copy the table (see upgrade).
    op.execute(sa.text('ALTER TABLE "group" DROP COLUMN synced_from_sso'))
    op.execute(sa.text('ALTER TABLE "user" DROP COLUMN oidc_subject'))
