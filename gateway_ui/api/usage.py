"""Token usage (admins: everyone's; the API limits users to themselves): totals, timeline, breakdowns, export.

Every call takes the API's usage filter parameters: start, end, user_ids, models, api_key_ids (lists repeat).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict

from gateway_ui.api.schema import ApiModel

if TYPE_CHECKING:
    from gateway_ui.api.client import UserApi

EXPORT_TIMEOUT_SECONDS = 120.0

UsageFilters = Mapping[str, str | Sequence[str]]


class UsageTotals(ApiModel):
    requests: int
    failed_requests: int  # of the requests, those that did not end well
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float


class UsageSummary(UsageTotals):
    unpriced_models: list[str]  # models of these records without a price: their calls count $0
    estimated_requests: int = 0  # of the requests, those cut before the provider reported their usage
    message_policy_requests: int = 0  # of the requests, the message policy judge's own calls
    message_policy_cost_usd: float = 0.0  # of the cost, what those calls cost


class BreakdownEntry(UsageTotals):
    key: str  # user id, key id or model name
    label: str
    price_known: bool | None = None  # by model: False when the model has no price


# The timeline stays JSON-shaped (typed dicts): the chart rows are built from it by a pure function whose tests
# are written against the API's JSON.
class TimeseriesPoint(TypedDict):
    bucket_start: str
    series: dict[str, float]


class UsageTimeseries(TypedDict):
    group_by: str
    series: list[str]  # series names in stack order
    points: list[TimeseriesPoint]


class UserOption(ApiModel):
    id: int
    email: str


class KeyOption(ApiModel):
    id: int
    name: str
    prefix: str
    user_email: str


class UsageFilterOptions(ApiModel):
    """The users, models and keys that have usage in a period."""

    users: list[UserOption]
    models: list[str]
    api_keys: list[KeyOption]


class UsageApi:
    def __init__(self, user: UserApi) -> None:
        self._user = user

    async def summary(self, filters: UsageFilters) -> UsageSummary:
        return UsageSummary.model_validate(await self._user.call("GET", "/api/usage/summary", params=filters))

    async def timeseries(
        self, filters: UsageFilters, bucket: str, group_by: str, metric: str = "tokens"
    ) -> UsageTimeseries:
        """metric "tokens" or "cost_usd"; by token type a metric other than tokens is one total series."""
        params = {**filters, "bucket": bucket, "group_by": group_by, "metric": metric}
        return await self._user.call("GET", "/api/usage/timeseries", params=params)

    async def breakdown(self, filters: UsageFilters, by: str) -> list[BreakdownEntry]:
        body = await self._user.call("GET", "/api/usage/breakdown", params={**filters, "by": by})
        return BreakdownEntry.list_from(body)

    async def filter_options(self, filters: UsageFilters) -> UsageFilterOptions:
        body = await self._user.call("GET", "/api/usage/filters", params=filters)
        return UsageFilterOptions.model_validate(body)

    async def export_csv(self, filters: UsageFilters) -> bytes:
        """Every matching record as CSV (fetched here, with the token, rather than by a bare browser link)."""
        return await self._user.download(
            "/api/usage/export.csv", params=filters, timeout_seconds=EXPORT_TIMEOUT_SECONDS
        )
