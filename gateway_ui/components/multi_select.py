"""A filter picker: a button that opens a searchable checkbox list; the choices are shown as removable chips."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx


def multi_select(
    label: str,
    options: rx.Var[list[Any]],
    selected: rx.Var[list[str]],
    on_toggle: Callable[[rx.Var[str]], Any],
    search: rx.Var[str],
    on_search: Any,
    test_id: str,
) -> rx.Component:
    """`options` are objects with `value` and `label`; `on_toggle(value)` adds or removes one choice.

    The search filters in the browser (no round trip per key press); labels are rendered as text.
    """
    needle = search.lower()

    def option_row(option: Any) -> rx.Component:
        # One line per option, its label right beside the box; a label too long for the popover is cut with "…"
        # (the whole of it in the tooltip) rather than wrapped onto lines of its own.
        return rx.cond(
            option.label.lower().contains(needle),
            rx.el.label(
                rx.checkbox(
                    checked=selected.contains(option.value),
                    on_change=lambda _checked: on_toggle(option.value),
                    size="2",
                ),
                rx.text(
                    option.label,
                    size="2",
                    white_space="nowrap",
                    overflow="hidden",
                    text_overflow="ellipsis",
                    min_width="0",
                ),
                display="flex",
                align_items="center",
                gap="0.5rem",
                width="100%",
                cursor="pointer",
                title=option.label,
                data_testid=f"{test_id}-option",
            ),
        )

    count = selected.length()
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(
                rx.icon("list-filter", size=14),
                label,
                rx.cond(count > 0, rx.badge(count, variant="solid", radius="full")),
                rx.icon("chevron-down", size=14),
                variant="surface",
                color_scheme="gray",
                type="button",
                data_testid=f"{test_id}-button",
            )
        ),
        rx.popover.content(
            rx.vstack(
                rx.input(
                    placeholder=f"Search {label.lower()}…",
                    value=search,
                    on_change=on_search,
                    aria_label=f"Search {label.lower()}",
                    width="100%",
                ),
                rx.cond(
                    options.length() > 0,
                    rx.scroll_area(
                        rx.vstack(rx.foreach(options, option_row), spacing="2", width="100%", padding_right="0.75rem"),
                        type="auto",
                        scrollbars="vertical",
                        max_height="16rem",
                    ),
                    rx.text("Nothing to choose from in this period.", size="2", color_scheme="gray"),
                ),
                spacing="3",
                width="100%",
            ),
            width="max-content",
            min_width="16rem",
            max_width="min(34rem, 90vw)",
            data_testid=f"{test_id}-options",
        ),
    )


def selection_chips(chosen: rx.Var[list[Any]], on_remove: Callable[[rx.Var[str]], Any], noun: str) -> rx.Component:
    """One chip per chosen option (`value`, `label`) with a remove button."""
    return rx.foreach(
        chosen,
        lambda option: rx.badge(
            rx.text(noun, ": ", color_scheme="gray"),
            rx.text(option.label, trim="both"),
            rx.icon_button(
                rx.icon("x", size=12),
                size="1",
                variant="ghost",
                color_scheme="gray",
                on_click=on_remove(option.value),
                aria_label=f"Remove {noun} filter {option.label}",
                type="button",
            ),
            variant="surface",
            size="2",
            max_width="100%",
            data_testid="filter-chip",
        ),
    )
