"""Token Usage (admin): totals, stacked timeline and per-model / per-user charts for the filters in the URL."""

from __future__ import annotations

import reflex as rx
from reflex.vars import FunctionStringVar, FunctionVar

from gateway_ui import routes
from gateway_ui.components.admin_only import admin_page
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.components.multi_select import multi_select, selection_chips
from gateway_ui.pages.usage_breakdowns import breakdowns
from gateway_ui.state.usage import UsageState
from gateway_ui.state.usage_view import ESTIMATED_LEGEND

GROUPING_ITEMS = (("Token type", "token_type"), ("User", "user"), ("Model", "model"))
MEASURE_ITEMS = (("Tokens", "tokens"), ("Spend", "spend"))
# (days, label): the range buttons; up to two days the timeline has one bar per hour.
PRESETS = ((1, "Today"), (2, "2 days"), (7, "7 days"), (30, "30 days"), (90, "90 days"))
# The chart's numbers as the rest of the page writes them (usage_view.format_count / format_usd), in the browser.
FORMAT_COUNT_JS = '(value) => Number(value).toLocaleString("en-US")'
FORMAT_USD_JS = (
    "(value) => { const v = Number(value); if (v === 0) return '$0.00';"
    " if (Math.abs(v) < 0.01) { const d = Math.min(10, 1 - Math.floor(Math.log10(Math.abs(v))));"
    " return '$' + v.toFixed(d).replace(/0+$/, ''); }"
    " return '$' + v.toLocaleString('en-US', {minimumFractionDigits: 2, maximumFractionDigits: 2}); }"
)
# A click on a part of a timeline bar opens the calls behind it. Recharts hands the clicked rectangle, whose payload
# is the row (usage_links.with_calls_links put the links in it) but which does not name its series: each series'
# bar gets its own handler, made for its key.
OPEN_CALLS_JS = (
    "(key) => (bar) => { const row = bar && bar.payload; if (!row) return;"
    " const href = row['calls_' + key] || row.calls; if (href) window.location.assign(href); }"
)


def _number_format() -> FunctionVar:
    """The timeline's formatter: dollars when it shows spend, counts with thousands separators otherwise."""
    return rx.cond(
        UsageState.measure == "spend",
        FunctionStringVar.create(FORMAT_USD_JS),
        FunctionStringVar.create(FORMAT_COUNT_JS),
    ).to(FunctionVar)


def _date_input(label: str, value: rx.Var[str], on_change: rx.EventHandler, test_id: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=test_id, font_size="var(--font-size-1)", color="var(--gray-11)"),
        rx.input(id=test_id, type="date", value=value, on_change=on_change, data_testid=test_id),
        spacing="1",
    )


def _date_range() -> rx.Component:
    presets = [
        rx.button(
            label,
            variant="soft",
            color_scheme="gray",
            size="1",
            on_click=UsageState.set_last_days(days),
            type="button",
            data_testid=f"usage-last-{days}",
        )
        for days, label in PRESETS
    ]
    return rx.flex(
        _date_input("From (UTC)", UsageState.start_day, UsageState.set_start_day, "usage-from"),
        _date_input("To (UTC)", UsageState.end_day, UsageState.set_end_day, "usage-to"),
        rx.flex(*presets, spacing="1", align="end", wrap="wrap", padding_bottom="0.3rem"),
        spacing="3",
        wrap="wrap",
        align="end",
    )


def _filter_bar() -> rx.Component:
    return rx.vstack(
        rx.flex(
            _date_range(),
            rx.spacer(),
            rx.flex(
                multi_select(
                    "Users",
                    UsageState.user_options,
                    UsageState.user_ids,
                    lambda value: UsageState.toggle_filter("users", value),
                    UsageState.user_option_search,
                    UsageState.set_user_option_search,
                    "filter-users",
                ),
                multi_select(
                    "Models",
                    UsageState.model_options,
                    UsageState.models,
                    lambda value: UsageState.toggle_filter("models", value),
                    UsageState.model_option_search,
                    UsageState.set_model_option_search,
                    "filter-models",
                ),
                multi_select(
                    "API keys",
                    UsageState.key_options,
                    UsageState.key_ids,
                    lambda value: UsageState.toggle_filter("keys", value),
                    UsageState.key_option_search,
                    UsageState.set_key_option_search,
                    "filter-keys",
                ),
                rx.button(
                    rx.icon("download", size=14),
                    "Download CSV",
                    on_click=UsageState.export_csv,
                    loading=UsageState.exporting,
                    type="button",
                    data_testid="usage-export",
                ),
                spacing="2",
                wrap="wrap",
                align="end",
            ),
            spacing="3",
            wrap="wrap",
            align="end",
            width="100%",
        ),
        rx.cond(
            UsageState.has_filters,
            rx.flex(
                selection_chips(UsageState.selected_users, lambda v: UsageState.toggle_filter("users", v), "User"),
                selection_chips(UsageState.selected_models, lambda v: UsageState.toggle_filter("models", v), "Model"),
                selection_chips(UsageState.selected_keys, lambda v: UsageState.toggle_filter("keys", v), "Key"),
                rx.button(
                    "Clear filters",
                    variant="ghost",
                    size="1",
                    on_click=UsageState.clear_filters,
                    type="button",
                ),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _stat_card(
    label: str, value: rx.Var[str], icon: str, test_id: str, note: rx.Component | None = None
) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon(icon, size=16, color="var(--gray-10)"), rx.text(label, size="2", color_scheme="gray")),
            rx.text(value, size="6", weight="bold", data_testid=test_id),
            *([note] if note is not None else []),
            spacing="1",
        ),
    )


def _stat_cards() -> rx.Component:
    return rx.grid(
        _stat_card(
            "Requests",
            UsageState.requests_text,
            "activity",
            "stat-requests",
            rx.hstack(
                rx.text(
                    UsageState.failed_text,
                    " failed",
                    size="1",
                    color_scheme=rx.cond(UsageState.has_failures, "red", "gray"),
                    data_testid="stat-failed",
                ),
                rx.cond(
                    UsageState.estimated_text != "",
                    rx.text(
                        UsageState.estimated_text,
                        rx.icon("info", size=12, margin_left="3px", display="inline", vertical_align="-2px"),
                        size="1",
                        color_scheme="amber",
                        white_space="nowrap",
                        title=ESTIMATED_LEGEND,
                        data_testid="stat-estimated",
                    ),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
        ),
        _stat_card("Input tokens", UsageState.input_text, "arrow-down-to-line", "stat-input"),
        _stat_card("Output tokens", UsageState.output_text, "arrow-up-from-line", "stat-output"),
        _stat_card(
            "Cached tokens",
            UsageState.cached_text,
            "database-zap",
            "stat-cached",
            rx.text("read from cache; written: ", UsageState.cache_write_text, size="1", color_scheme="gray"),
        ),
        _stat_card(
            "Spend",
            UsageState.spend_text,
            "circle-dollar-sign",
            "stat-spend",
            rx.vstack(
                rx.cond(
                    UsageState.message_policy_text != "",
                    rx.text(
                        UsageState.message_policy_text,
                        size="1",
                        color_scheme="gray",
                        title="the gateway's own calls to the message policy judge, under no user or key",
                        data_testid="stat-message-policies",
                    ),
                ),
                rx.cond(
                    UsageState.unpriced_text != "",
                    rx.text(
                        UsageState.unpriced_text,
                        size="1",
                        color_scheme="amber",
                        title=UsageState.unpriced_models.join(", "),
                        data_testid="stat-unpriced",
                    ),
                ),
                spacing="1",
            ),
        ),
        columns=rx.breakpoints(initial="2", sm="3", lg="5"),
        spacing="3",
        width="100%",
    )


def _timeline() -> rx.Component:
    chart = rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
        rx.recharts.x_axis(data_key="bucket", tick_line=False, font_size=12),
        rx.recharts.y_axis(tick_line=False, font_size=12, width=80, tick_formatter=_number_format()),
        rx.recharts.graphing_tooltip(custom_attrs={"formatter": _number_format()}),
        rx.recharts.legend(),
        rx.foreach(
            UsageState.chart_series,
            lambda series: rx.recharts.bar(
                data_key=series.key,
                name=series.label,
                fill=series.color,
                stack_id="usage",
                is_animation_active=False,
                custom_attrs={"onClick": FunctionStringVar.create(OPEN_CALLS_JS).call(series.key), "cursor": "pointer"},
            ),
        ),
        data=UsageState.chart_rows,
        width="100%",
        height=320,
    )
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading(rx.cond(UsageState.measure == "spend", "Spend over time", "Tokens over time"), size="4"),
                rx.spacer(),
                rx.segmented_control.root(
                    *[rx.segmented_control.item(label, value=value) for label, value in MEASURE_ITEMS],
                    value=UsageState.measure,
                    on_change=UsageState.set_measure,
                    size="1",
                    data_testid="usage-measure",
                ),
                rx.segmented_control.root(
                    *[rx.segmented_control.item(label, value=value) for label, value in GROUPING_ITEMS],
                    value=UsageState.group_by,
                    on_change=UsageState.set_group_by,
                    size="1",
                    data_testid="usage-group-by",
                ),
                wrap="wrap",
                spacing="2",
                align="center",
                width="100%",
            ),
            rx.cond(
                UsageState.has_usage,
                rx.vstack(
                    rx.box(chart, width="100%", data_testid="usage-timeline"),
                    rx.text("Click a bar for the calls behind it.", size="1", color_scheme="gray"),
                    width="100%",
                    spacing="1",
                ),
                empty_state("chart-no-axes-column", "No usage in this view", "Widen the dates or clear the filters."),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _content() -> rx.Component:
    return rx.vstack(
        _filter_bar(),
        rx.cond(
            UsageState.load_error != "",
            rx.callout(UsageState.load_error, icon="triangle-alert", color_scheme="red", role="alert", width="100%"),
        ),
        rx.cond(
            UsageState.loading & ~UsageState.has_usage,
            loading_state("Loading usage…"),
            rx.vstack(
                rx.box(
                    _stat_cards(),
                    width="100%",
                    opacity=rx.cond(UsageState.loading, "0.6", "1"),
                    data_testid="usage-stats",
                    aria_busy=UsageState.loading,
                ),
                _timeline(),
                breakdowns(),
                spacing="4",
                width="100%",
            ),
        ),
        spacing="4",
        width="100%",
    )


@gateway_page(route=routes.USAGE, title="Token Usage", on_load=[UsageState.load])
def usage_page() -> rx.Component:
    return admin_page(_content())
