"""message policies: the policies, the judge model setting (one row), the violations with the indexes that list
them newest first per filter

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

String = sqlmodel.sql.sqltypes.AutoString
Time = sqlmodel.sql.sqltypes.UTCDateTime
# (name, columns): each filter of /api/message-policy-violations walks one of these newest first.
VIOLATION_INDEXES = (
    ("ix_mpviolation_policy_time", ("policy_id", "created_at")),
    ("ix_mpviolation_user_time", ("user_id", "created_at")),
    ("ix_mpviolation_key_time", ("api_key_id", "created_at")),
    ("ix_mpviolation_scope_time", ("scope", "created_at")),
    ("ix_mpviolation_action_time", ("action", "created_at")),
)


def upgrade() -> None:
    op.create_table(
        "messagepolicy",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", String(length=200), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("action", String(length=16), nullable=False),
        sa.Column("pattern", sa.Text(), nullable=True),
        sa.Column("builtins", sa.JSON(), nullable=False),
        sa.Column("judge", sa.Text(), nullable=True),
        sa.Column("on_unreadable", String(length=8), nullable=False),
        sa.Column("on_judge_error", String(length=8), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", Time(), nullable=False),
        sa.Column("updated_at", Time(), nullable=False),
    )
    op.create_index("ix_messagepolicy_name", "messagepolicy", ["name"], unique=True)
    op.create_table(
        "messagepolicysettings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("judge_model", String(length=200), nullable=True),
        sa.Column("updated_at", Time(), nullable=False),
    )
    op.create_table(
        "messagepolicyviolation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", Time(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("policy_name", String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("scope", String(length=16), nullable=False),
        sa.Column("action", String(length=16), nullable=False),
        sa.Column("explanation", String(length=1000), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("call_id", String(length=64), nullable=True),
    )
    op.create_index("ix_messagepolicyviolation_created_at", "messagepolicyviolation", ["created_at"])
    op.create_index("ix_messagepolicyviolation_call_id", "messagepolicyviolation", ["call_id"])
    for name, columns in VIOLATION_INDEXES:
        op.create_index(name, "messagepolicyviolation", list(columns))


def downgrade() -> None:
    op.drop_table("messagepolicyviolation")
    op.drop_table("messagepolicysettings")
    op.drop_index("ix_messagepolicy_name", table_name="messagepolicy")
    op.drop_table("messagepolicy")
