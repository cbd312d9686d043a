"""the call log's listing indexes on status, outcome, session and unknown key prefix hold only the rows those
filters look for (not 200, not ok, with a session, with an unknown key): every forwarded call wrote an entry into
each of them, about 1.7 us of the usage writer's work per index and row on SQLite (bench/README.md, issue 16)

A filter for status 200 or outcome ok walks the time index instead, where nearly every row matches. The listing
and the retention run repeat an index's condition in their queries (calllog/listing.py, calllog/retention.py):
SQLite uses a partial index only when the query's WHERE has that condition or one that implies IS NOT NULL.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, column, the rows it holds); the same conditions as models.UsageRecord's and calllog/listing.py's.
PARTIAL_INDEXES = (
    ("ix_usage_status_time", "status_code", "status_code <> 200"),
    ("ix_usage_outcome_time", "outcome", "outcome <> 'ok'"),
    ("ix_usage_session_time", "session_id", "session_id IS NOT NULL"),
    ("ix_usage_key_prefix_time", "key_prefix", "key_prefix IS NOT NULL"),
)


def upgrade() -> None:
    for name, column, condition in PARTIAL_INDEXES:
        op.drop_index(name, table_name="usagerecord")
        op.create_index(
            name,
            "usagerecord",
            [column, "created_at"],
            postgresql_where=sa.text(condition),
            sqlite_where=sa.text(condition),
        )


def downgrade() -> None:
    for name, column, _ in PARTIAL_INDEXES:
        op.drop_index(name, table_name="usagerecord")
        op.create_index(name, "usagerecord", [column, "created_at"])
