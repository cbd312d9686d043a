"""What a list shows while it loads, and when it has nothing in it."""

from __future__ import annotations

import reflex as rx


def loading_state(label: str = "Loading…") -> rx.Component:
    return rx.center(
        rx.hstack(rx.spinner(size="2"), rx.text(label, color_scheme="gray", size="2"), align="center"),
        padding="2rem",
        width="100%",
        data_testid="loading-state",
        role="status",
    )


def empty_state(icon: str, title: str, *description: rx.Component | str, test_id: str = "empty-state") -> rx.Component:
    """A centred icon, a headline and what to do next."""
    return rx.center(
        rx.vstack(
            rx.icon(icon, size=32, color="var(--gray-9)"),
            rx.heading(title, size="4", text_align="center"),
            *[rx.text(part, color_scheme="gray", size="2", text_align="center") for part in description],
            align="center",
            spacing="2",
            max_width="32rem",
        ),
        padding="2.5rem 1rem",
        width="100%",
        border="1px dashed var(--gray-a6)",
        border_radius="var(--radius-3)",
        data_testid=test_id,
    )
