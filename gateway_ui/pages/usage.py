"""Token Usage (admin): totals, stacked timeline and per-model / per-user charts for the filters in the URL."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.admin_only import admin_only_notice
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.components.multi_select import multi_select, selection_chips
from gateway_ui.state.auth import AuthState
from gateway_ui.state.usage import TOKEN_TYPE_COLORS, BreakdownCard, UsageState

GROUPING_ITEMS = (("Token type", "token_type"), ("User", "user"), ("Model", "model"))
SORT_ITEMS = (("Spend", "spend"), ("Tokens", "tokens"), ("Requests", "requests"), ("Name", "name"))
PRESET_DAYS = (7, 30, 90)


def _date_input(label: str, value: rx.Var[str], on_change: rx.EventHandler, test_id: str) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=test_id, font_size="var(--font-size-1)", color="var(--gray-11)"),
        rx.input(id=test_id, type="date", value=value, on_change=on_change, data_testid=test_id),
        spacing="1",
    )


def _date_range() -> rx.Component:
    presets = [
        rx.button(
            f"{days} days",
            variant="soft",
            color_scheme="gray",
            size="1",
            on_click=UsageState.set_last_days(days),
            type="button",
        )
        for days in PRESET_DAYS
    ]
    return rx.flex(
        _date_input("From (UTC)", UsageState.start_day, UsageState.set_start_day, "usage-from"),
        _date_input("To (UTC)", UsageState.end_day, UsageState.set_end_day, "usage-to"),
        rx.hstack(*presets, spacing="1", align="end", padding_bottom="0.3rem"),
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
        _stat_card("Requests", UsageState.requests_text, "activity", "stat-requests"),
        _stat_card("Input tokens", UsageState.input_text, "arrow-down-to-line", "stat-input"),
        _stat_card("Output tokens", UsageState.output_text, "arrow-up-from-line", "stat-output"),
        _stat_card(
            "Cached tokens",
            UsageState.cached_text,
            "database-zap",
            "stat-cached",
            rx.text("read from cache; written: ", UsageState.cache_write_text, size="1", color_scheme="gray"),
        ),
        _stat_card("Spend", UsageState.spend_text, "circle-dollar-sign", "stat-spend"),
        columns=rx.breakpoints(initial="2", sm="3", lg="5"),
        spacing="3",
        width="100%",
    )


def _timeline() -> rx.Component:
    chart = rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
        rx.recharts.x_axis(data_key="bucket", tick_line=False, font_size=12),
        rx.recharts.y_axis(tick_line=False, font_size=12, width=70),
        rx.recharts.graphing_tooltip(),
        rx.recharts.legend(),
        rx.foreach(
            UsageState.chart_series,
            lambda series: rx.recharts.bar(
                data_key=series.key, name=series.label, fill=series.color, stack_id="usage", is_animation_active=False
            ),
        ),
        data=UsageState.chart_rows,
        width="100%",
        height=320,
    )
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading("Tokens over time", size="4"),
                rx.spacer(),
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
                rx.box(chart, width="100%", data_testid="usage-timeline"),
                empty_state("chart-no-axes-column", "No usage in this view", "Widen the dates or clear the filters."),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _small_chart(card: BreakdownCard) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(card.label, weight="medium", size="2", trim="both", word_break="break-all"),
            rx.recharts.bar_chart(
                rx.recharts.x_axis(type_="number", hide=True),
                rx.recharts.y_axis(type_="category", hide=True),
                rx.recharts.graphing_tooltip(),
                rx.recharts.bar(
                    data_key="uncached", name="Input", stack_id="t", fill=rx.color(TOKEN_TYPE_COLORS["input"], 9)
                ),
                rx.recharts.bar(
                    data_key="cached",
                    name="Cache read",
                    stack_id="t",
                    fill=rx.color(TOKEN_TYPE_COLORS["cache_read"], 9),
                ),
                rx.recharts.bar(
                    data_key="output", name="Output", stack_id="t", fill=rx.color(TOKEN_TYPE_COLORS["output"], 9)
                ),
                data=card.bar,
                layout="vertical",
                width="100%",
                height=36,
                margin={"top": 0, "right": 0, "bottom": 0, "left": 0},
            ),
            rx.hstack(
                rx.text(card.cost_text, size="2", weight="bold"),
                rx.text(card.tokens_text, " tokens", size="1", color_scheme="gray"),
                rx.text(card.requests_text, " req.", size="1", color_scheme="gray"),
                spacing="3",
                align="baseline",
                wrap="wrap",
            ),
            spacing="2",
            width="100%",
        ),
        data_testid="breakdown-card",
    )


def _breakdown(
    title: str,
    cards: rx.Var[list[BreakdownCard]],
    matches: rx.Var[int],
    search: rx.Var[str],
    on_search: rx.EventHandler,
    sort: rx.Var[str],
    on_sort: rx.EventHandler,
    test_id: str,
) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading(title, size="4"),
                rx.spacer(),
                rx.input(
                    rx.input.slot(rx.icon("search", size=14)),
                    placeholder="Search…",
                    value=search,
                    on_change=on_search,
                    aria_label=f"Search {title.lower()}",
                    width=["100%", "12rem"],
                    data_testid=f"{test_id}-search",
                ),
                rx.select.root(
                    rx.select.trigger(aria_label=f"Sort {title.lower()}"),
                    rx.select.content(*[rx.select.item(f"By {label.lower()}", value=v) for label, v in SORT_ITEMS]),
                    value=sort,
                    on_change=on_sort,
                ),
                spacing="2",
                wrap="wrap",
                align="center",
                width="100%",
            ),
            rx.cond(
                matches > 0,
                rx.grid(
                    rx.foreach(cards, _small_chart),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="3",
                    width="100%",
                ),
                rx.text("Nothing matches.", size="2", color_scheme="gray"),
            ),
            rx.cond(
                matches > cards.length(),
                rx.text(
                    f"Showing {cards.length()} of {matches}; search to find the others.", size="1", color_scheme="gray"
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid=test_id,
    )


def _breakdowns() -> rx.Component:
    return rx.grid(
        _breakdown(
            "By model",
            UsageState.visible_model_cards,
            UsageState.model_match_count,
            UsageState.model_search,
            UsageState.set_model_search,
            UsageState.model_sort,
            UsageState.set_model_sort,
            "breakdown-models",
        ),
        _breakdown(
            "By user",
            UsageState.visible_user_cards,
            UsageState.user_match_count,
            UsageState.user_search,
            UsageState.set_user_search,
            UsageState.user_sort,
            UsageState.set_user_sort,
            "breakdown-users",
        ),
        columns=rx.breakpoints(initial="1", lg="2"),
        spacing="4",
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
                _breakdowns(),
                spacing="4",
                width="100%",
            ),
        ),
        spacing="4",
        width="100%",
    )


@gateway_page(route=routes.USAGE, title="Token Usage", on_load=[UsageState.load])
def usage_page() -> rx.Component:
    return rx.cond(AuthState.is_admin, _content(), admin_only_notice())
