"""usage rollups: inserts rolled up per batch by the application, not by a trigger per row

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 09:00:00

Drops 0004's insert trigger on ``usagerecord``: on SQLite it ran four upserts per inserted record (a 1,000-record
batch of the usage recorder took about four times as long as without it, the biggest share of the proxy
worker's usage write), and on PostgreSQL an executemany fired the statement trigger once per row. Records are
inserted through ``gateway_api.usage.writer.insert_usage_records`` now, which adds each batch's grouped sums to
the rollups in the inserting transaction. The delete and update triggers stay (the PostgreSQL trigger function
too, which they call), so deleting or changing records by hand or by retention keeps the rollups exact.

No backfill: every record inserted before this revision was rolled up by the trigger. Downgrade recreates the
trigger with 0004's own SQL. Gateways are upgraded together with the database: an older gateway still writing
to it after this revision inserts records no rollup counts, and this version's writer on a database still at
0004 would count each record twice (the gateway applies the migrations at start, so neither happens by itself).
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision_0004() -> ModuleType:
    """0004's module, for its trigger SQL (migration files are loaded by path, not importable by name)."""
    path = Path(__file__).with_name("0004_usage_rollups.py")
    spec = importlib.util.spec_from_file_location("gateway_migration_0004_usage_rollups", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS usage_rollup_insert ON usagerecord")
    else:
        op.execute("DROP TRIGGER IF EXISTS usage_rollup_insert")


def downgrade() -> None:
    # Records inserted since the upgrade were rolled up by the application, so the rollups are exact as they are.
    rollups = _revision_0004()
    if op.get_bind().dialect.name == "postgresql":
        op.get_bind().exec_driver_sql(rollups.postgres_trigger("INSERT"))
    else:
        op.get_bind().exec_driver_sql(rollups.sqlite_insert_trigger())
