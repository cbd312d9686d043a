"""The filters of a usage query, as SQL conditions on the raw records or on a rollup table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Mapped
from sqlmodel import col

from gateway_api.db.models import Outcome, UsageDaily, UsageHourly, UsageModelDaily, UsageModelHourly, UsageRecord

UsageTable = type[UsageRecord | UsageHourly | UsageDaily | UsageModelHourly | UsageModelDaily]
RollupTable = type[UsageHourly | UsageDaily | UsageModelHourly | UsageModelDaily]
PerKeyTable = type[UsageRecord | UsageHourly | UsageDaily]
# The rollups count a record without user or key under this id (ids start at 1).
NO_ID = 0


def per_key(table: UsageTable) -> PerKeyTable:
    """`table` as one with user and key columns: the per-model rollups are read only when no user or key is
    filtered or grouped on (aggregate._tables)."""
    return cast(PerKeyTable, table)


def time_column(table: UsageTable) -> Mapped[datetime]:
    return col(UsageRecord.created_at) if table is UsageRecord else col(cast(RollupTable, table).bucket_start)


@dataclass(frozen=True)
class UsageFilter:
    start: datetime
    end: datetime | None = None
    user_ids: tuple[int, ...] = ()
    models: tuple[str, ...] = ()
    api_key_ids: tuple[int, ...] = ()
    provider: str | None = None
    outcome: Outcome | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """Conditions on the raw records for the whole range."""
        return self.conditions_within(UsageRecord, self.start, self.end)

    def conditions_within(
        self, table: UsageTable, lower: datetime, upper: datetime | None
    ) -> list[ColumnElement[bool]]:
        """Conditions on `table` (raw or rollup) for the part [lower, upper) of the range."""
        moment = time_column(table)
        conditions: list[ColumnElement[bool]] = [moment >= lower]
        if upper is not None:
            conditions.append(moment < upper)
        rollup = table is not UsageRecord
        # The per-model rollups have no user or key columns: they are read only when neither filter is set.
        if self.user_ids:
            # In a rollup NO_ID stands for "no user": a filter naming id 0 must not match it (nor does it raw).
            wanted = [i for i in self.user_ids if i != NO_ID] if rollup else list(self.user_ids)
            conditions.append(col(per_key(table).user_id).in_(wanted))
        if self.models:
            conditions.append(col(table.model).in_(self.models))
        if self.api_key_ids:
            wanted = [i for i in self.api_key_ids if i != NO_ID] if rollup else list(self.api_key_ids)
            conditions.append(col(per_key(table).api_key_id).in_(wanted))
        if self.provider:
            conditions.append(col(table.provider) == self.provider)
        if self.outcome is not None:
            conditions.append(col(table.outcome) == (self.outcome.value if rollup else self.outcome))
        else:
            # Refused calls (the call log's rows) cost nothing and were never forwarded: the usage views count
            # requests that reached a provider, and show refused ones only when asked by outcome.
            refused = Outcome.refused.value if rollup else Outcome.refused
            conditions.append(col(table.outcome) != refused)
        return conditions
