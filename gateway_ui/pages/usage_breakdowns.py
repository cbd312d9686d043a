"""The Token Usage page's small charts: one card per model and per user, every bar on one shared scale."""

from __future__ import annotations

import reflex as rx

from gateway_ui.state.usage import BreakdownCard, UsageState
from gateway_ui.state.usage_view import BarPart

SORT_ITEMS = (("Spend", "spend"), ("Tokens", "tokens"), ("Requests", "requests"), ("Name", "name"))


def _bar_part(part: BarPart) -> rx.Component:
    return rx.box(height="100%", width=part.width, background=part.color, data_testid="bar-part", title=part.text)


def _bar(card: BreakdownCard) -> rx.Component:
    return rx.hstack(
        rx.foreach(card.bar, _bar_part),
        spacing="0",
        width="100%",
        height="0.75rem",
        background="var(--gray-a3)",
        border_radius="var(--radius-1)",
        overflow="hidden",
        title=card.bar_title,
        data_testid="usage-bar",
    )


def _small_chart(card: BreakdownCard) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.text(card.label, weight="medium", size="2", trim="both", overflow_wrap="anywhere"),
                rx.cond(
                    ~card.price_known,
                    rx.badge("price unknown", color_scheme="amber", variant="soft", size="1", data_testid="no-price"),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            # Every card's bar is drawn on the same scale (the largest card's tokens), so sizes compare; it links
            # to the calls behind it.
            rx.cond(card.calls_href != "", rx.link(_bar(card), href=card.calls_href, width="100%"), _bar(card)),
            rx.hstack(
                rx.text(card.cost_text, size="2", weight="bold"),
                rx.text(card.tokens_text, " tokens", size="1", color_scheme="gray"),
                rx.text(card.requests_text, " req.", size="1", color_scheme="gray"),
                rx.cond(
                    card.failed_requests > 0,
                    rx.text(card.failed_text, " failed", size="1", color_scheme="red", data_testid="card-failed"),
                ),
                rx.cond(
                    card.calls_href != "",
                    rx.link(
                        "Calls",
                        rx.icon("arrow-right", size=12, display="inline", vertical_align="-1px"),
                        href=card.calls_href,
                        size="1",
                        data_testid="card-calls",
                    ),
                ),
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


def breakdowns() -> rx.Component:
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
