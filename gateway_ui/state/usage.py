"""Token Usage page state: filters mirrored in the URL, totals, the stacked timeline, per-model/user breakdowns."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import reflex as rx

from gateway_ui import routes
from gateway_ui.api import ApiError, UserApi
from gateway_ui.api.usage import BreakdownEntry, UsageFilterOptions, UsageSummary, UsageTimeseries
from gateway_ui.api_connection import API
from gateway_ui.state import usage_filters as filters
from gateway_ui.state.api_session import UiEvent
from gateway_ui.state.auth import AuthState
from gateway_ui.state.usage_links import card_calls_href, with_calls_links
from gateway_ui.state.usage_view import (
    BREAKDOWN_SORTS,
    MAX_SMALL_CHARTS,
    TOKEN_TYPE_COLORS,
    BreakdownCard,
    ChartSeries,
    FilterOption,
    breakdown_cards,
    chart_data,
    estimated_note,
    format_count,
    format_usd,
    is_day,
    message_policy_note,
    selected_labels,
    unpriced_note,
    visible_cards,
)

__all__ = ["TOKEN_TYPE_COLORS", "BreakdownCard", "UsageState"]


class UsageState(rx.State):
    # The view (mirrored in the URL query string).
    start_day: str = ""
    end_day: str = ""
    explicit_dates: bool = False
    user_ids: list[str] = rx.field(default_factory=list)
    models: list[str] = rx.field(default_factory=list)
    key_ids: list[str] = rx.field(default_factory=list)
    group_by: str = filters.DEFAULT_GROUPING
    measure: str = filters.DEFAULT_MEASURE

    user_options: list[FilterOption] = rx.field(default_factory=list)
    model_options: list[FilterOption] = rx.field(default_factory=list)
    key_options: list[FilterOption] = rx.field(default_factory=list)
    user_option_search: str = ""
    model_option_search: str = ""
    key_option_search: str = ""

    loading: bool = True
    load_error: str = ""
    exporting: bool = False

    requests_text: str = "0"
    failed_text: str = "0"
    has_failures: bool = False
    estimated_text: str = ""
    input_text: str = "0"
    output_text: str = "0"
    cached_text: str = "0"
    cache_write_text: str = "0"
    spend_text: str = "$0.00"
    message_policy_text: str = ""  # the message policy judge's part of the spend, "" when it made no calls
    unpriced_models: list[str] = rx.field(default_factory=list)
    unpriced_text: str = ""
    has_usage: bool = False

    chart_series: list[ChartSeries] = rx.field(default_factory=list)
    chart_rows: list[dict[str, Any]] = rx.field(default_factory=list)

    model_cards: list[BreakdownCard] = rx.field(default_factory=list)
    user_cards: list[BreakdownCard] = rx.field(default_factory=list)
    model_search: str = ""
    model_sort: str = "spend"
    user_search: str = ""
    user_sort: str = "spend"

    # -- derived ---------------------------------------------------------------------------------------

    @rx.var
    def visible_model_cards(self) -> list[BreakdownCard]:
        return visible_cards(self.model_cards, self.model_search, self.model_sort)[:MAX_SMALL_CHARTS]

    @rx.var
    def visible_user_cards(self) -> list[BreakdownCard]:
        return visible_cards(self.user_cards, self.user_search, self.user_sort)[:MAX_SMALL_CHARTS]

    @rx.var
    def model_match_count(self) -> int:
        return len(visible_cards(self.model_cards, self.model_search, self.model_sort))

    @rx.var
    def user_match_count(self) -> int:
        return len(visible_cards(self.user_cards, self.user_search, self.user_sort))

    @rx.var
    def selected_users(self) -> list[FilterOption]:
        return selected_labels(self.user_ids, self.user_options, "user")

    @rx.var
    def selected_models(self) -> list[FilterOption]:
        return selected_labels(self.models, self.model_options, "model")

    @rx.var
    def selected_keys(self) -> list[FilterOption]:
        return selected_labels(self.key_ids, self.key_options, "key")

    @rx.var
    def has_filters(self) -> bool:
        return bool(self.user_ids or self.models or self.key_ids)

    # -- view <-> state -----------------------------------------------------------------------------

    def _view(self) -> filters.UsageView:
        return filters.UsageView(
            start_day=date.fromisoformat(self.start_day),
            end_day=date.fromisoformat(self.end_day),
            user_ids=tuple(self.user_ids),
            models=tuple(self.models),
            key_ids=tuple(self.key_ids),
            group_by=self.group_by,
            measure=self.measure,
            explicit_dates=self.explicit_dates,
        )

    def _apply_view(self, view: filters.UsageView) -> None:
        self.start_day = view.start_day.isoformat()
        self.end_day = view.end_day.isoformat()
        self.explicit_dates = view.explicit_dates
        self.user_ids = list(view.user_ids)
        self.models = list(view.models)
        self.key_ids = list(view.key_ids)
        self.group_by = view.group_by
        self.measure = view.measure

    def _url_update(self) -> rx.event.EventSpec:
        """Put the view in the address bar without a navigation (a reload or shared link restores it)."""
        query = filters.query_from_view(self._view())
        target = routes.USAGE + (f"?{query}" if query else "")
        return rx.call_script(f"window.history.replaceState(window.history.state, '', {json.dumps(target)})")

    # -- loading ------------------------------------------------------------------------------------

    async def _admin_api(self) -> UserApi | None:
        """The API as the signed-in admin; None for anyone else (the page shows them the admins-only notice)."""
        auth = await self.get_state(AuthState)
        return API.as_user(auth.token) if auth.user_role in ("admin", "auditor") and auth.token else None

    @rx.event
    async def load(self) -> AsyncIterator[UiEvent]:
        """on_load: read the view from the URL, then fetch everything for it."""
        self._apply_view(filters.view_from_query(dict(self.router.url.query_parameters), filters.today_utc()))
        async for update in self._refresh():
            yield update

    async def _refresh(self) -> AsyncIterator[UiEvent]:
        api = await self._admin_api()
        if api is None:
            return
        self.loading = True
        self.load_error = ""
        yield
        view = self._view()
        params = filters.api_params(view)
        try:
            summary, timeseries, by_model, by_user, options = await asyncio.gather(
                api.usage.summary(params),
                api.usage.timeseries(params, view.bucket, view.group_by, view.metric),
                api.usage.breakdown(params, "model"),
                api.usage.breakdown(params, "user"),
                api.usage.filter_options(filters.period_params(view)),
            )
        except ApiError as exc:
            self.loading = False
            self.load_error = exc.message
            yield rx.toast.error(f"Could not load usage: {exc.message}")
            return
        self._show(summary, timeseries, by_model, by_user, options, view)
        self.loading = False

    def _show(
        self,
        summary: UsageSummary,
        timeseries: UsageTimeseries,
        by_model: list[BreakdownEntry],
        by_user: list[BreakdownEntry],
        options: UsageFilterOptions,
        view: filters.UsageView,
    ) -> None:
        self.requests_text = format_count(summary.requests)
        self.failed_text = format_count(summary.failed_requests)
        self.has_failures = summary.failed_requests > 0
        self.estimated_text = estimated_note(summary.estimated_requests)
        self.input_text = format_count(summary.input_tokens)
        self.output_text = format_count(summary.output_tokens)
        self.cached_text = format_count(summary.cache_read_tokens)
        self.cache_write_text = format_count(summary.cache_write_tokens)
        self.spend_text = format_usd(summary.cost_usd)
        self.message_policy_text = message_policy_note(summary.message_policy_requests, summary.message_policy_cost_usd)
        self.unpriced_models = list(summary.unpriced_models)
        self.unpriced_text = unpriced_note(self.unpriced_models)
        self.has_usage = summary.requests > 0
        period_end = datetime.fromisoformat(filters.period_params(view)["end"])
        self.chart_series, rows = chart_data(timeseries, view.bucket, period_end)
        user_ids_by_email = {u.email: str(u.id) for u in options.users}
        self.chart_rows = with_calls_links(rows, timeseries, view, user_ids_by_email)
        self.model_cards, self.user_cards = breakdown_cards(by_model, by_user)
        for card in self.model_cards:
            card.calls_href = card_calls_href(view, "model", card.key)
        for card in self.user_cards:
            card.calls_href = card_calls_href(view, "user", card.key)
        self.user_options = [FilterOption(value=str(u.id), label=u.email) for u in options.users]
        self.model_options = [FilterOption(value=m, label=m) for m in options.models]
        self.key_options = [
            FilterOption(value=str(k.id), label=f"{k.name or k.prefix} ({k.prefix}) - {k.user_email}")
            for k in options.api_keys
        ]

    async def _changed(self) -> AsyncIterator[UiEvent]:
        yield self._url_update()
        async for update in self._refresh():
            yield update

    # -- filter events ------------------------------------------------------------------------------

    @rx.event
    async def toggle_filter(self, kind: str, value: str) -> AsyncIterator[UiEvent]:
        selected = {"users": self.user_ids, "models": self.models, "keys": self.key_ids}.get(kind)
        if selected is None:
            return
        updated = [v for v in selected if v != value] if value in selected else [*selected, value]
        setattr(self, {"users": "user_ids", "models": "models", "keys": "key_ids"}[kind], updated)
        async for update in self._changed():
            yield update

    @rx.event
    async def clear_filters(self) -> AsyncIterator[UiEvent]:
        self.user_ids, self.models, self.key_ids = [], [], []
        async for update in self._changed():
            yield update

    @rx.event
    async def set_start_day(self, value: str) -> AsyncIterator[UiEvent]:
        # A start after the end drags the end along (one-day range) rather than refusing the date picked.
        end = max(value, self.end_day) if is_day(value) else self.end_day
        async for update in self._set_dates(value, end):
            yield update

    @rx.event
    async def set_end_day(self, value: str) -> AsyncIterator[UiEvent]:
        start = min(value, self.start_day) if is_day(value) else self.start_day
        async for update in self._set_dates(start, value):
            yield update

    async def _set_dates(self, start: str, end: str) -> AsyncIterator[UiEvent]:
        try:
            start_day, end_day = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            return  # a half-typed date: wait for a whole one
        if start_day > end_day:
            yield rx.toast.error("The start date must be on or before the end date.")
            return
        self._apply_view(filters.with_dates(self._view(), start_day, end_day))
        async for update in self._changed():
            yield update

    @rx.event
    async def set_last_days(self, days: int) -> AsyncIterator[UiEvent]:
        today = filters.today_utc()
        start, end = date.fromordinal(today.toordinal() - int(days) + 1), today
        async for update in self._set_dates(start.isoformat(), end.isoformat()):
            yield update

    @rx.event
    async def set_group_by(self, value: str | list[str]) -> AsyncIterator[UiEvent]:
        if not isinstance(value, str) or value not in filters.GROUPINGS:
            return
        self.group_by = value
        async for update in self._changed():
            yield update

    @rx.event
    async def set_measure(self, value: str | list[str]) -> AsyncIterator[UiEvent]:
        if not isinstance(value, str) or value not in filters.MEASURES:
            return
        self.measure = value
        async for update in self._changed():
            yield update

    @rx.event
    def set_user_option_search(self, value: str) -> None:
        self.user_option_search = value

    @rx.event
    def set_model_option_search(self, value: str) -> None:
        self.model_option_search = value

    @rx.event
    def set_key_option_search(self, value: str) -> None:
        self.key_option_search = value

    @rx.event
    def set_model_search(self, value: str) -> None:
        self.model_search = value

    @rx.event
    def set_model_sort(self, value: str) -> None:
        self.model_sort = value if value in BREAKDOWN_SORTS else "spend"

    @rx.event
    def set_user_search(self, value: str) -> None:
        self.user_search = value

    @rx.event
    def set_user_sort(self, value: str) -> None:
        self.user_sort = value if value in BREAKDOWN_SORTS else "spend"

    # -- export ---------------------------------------------------------------------------------------

    @rx.event
    async def export_csv(self) -> AsyncIterator[UiEvent]:
        api = await self._admin_api()
        if api is None:
            return
        self.exporting = True
        yield
        view = self._view()
        try:
            content = await api.usage.export_csv(filters.api_params(view))
        except ApiError as exc:
            yield rx.toast.error(f"Export failed: {exc.message}")
            return
        finally:
            self.exporting = False
        filename = f"usage-{view.start_day.isoformat()}-to-{view.end_day.isoformat()}.csv"
        yield rx.download(data=content, filename=filename, mime_type="text/csv")
