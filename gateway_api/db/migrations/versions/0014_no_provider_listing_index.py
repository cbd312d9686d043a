"""the call log lists a provider's calls model by model through the model index (calllog/listing.py), so the
provider index of migration 0011 goes: it cost the usage writer a B-tree insert on every call, 0 to 9 % of a
proxied call's CPU at c=64 on SQLite (bench/README.md, issue 16)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 00:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_usage_provider_time", table_name="usagerecord")


def downgrade() -> None:
    op.create_index("ix_usage_provider_time", "usagerecord", ["provider", "created_at"])
