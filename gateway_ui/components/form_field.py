"""A labelled form control with the API's validation message for that field right under it, and the form's own."""

from __future__ import annotations

import reflex as rx


def form_field(
    label: str,
    control: rx.Component,
    error: rx.Var[str] | str = "",
    *,
    html_for: str = "",
    hint: str = "",
    test_id: str = "",
) -> rx.Component:
    """`error` is the message for this field (empty: none); it is announced to screen readers when it appears."""
    return rx.vstack(
        rx.el.label(label, html_for=html_for or None, font_size="var(--font-size-2)", font_weight="500"),
        control,
        *([rx.text(hint, size="1", color_scheme="gray")] if hint else []),
        rx.cond(
            error != "",
            rx.text(
                error, size="1", color_scheme="red", role="alert", data_testid=f"{test_id}-error" if test_id else None
            ),
        ),
        spacing="1",
        width="100%",
    )


def form_error(message: rx.Var[str]) -> rx.Component:
    """The API's message for the form as a whole (empty: none), above its buttons."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle-alert", color_scheme="red", role="alert", width="100%"),
    )
