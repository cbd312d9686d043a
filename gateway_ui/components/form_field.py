"""A labelled form control with the API's validation message for that field right under it, and the form's own."""

from __future__ import annotations

import reflex as rx


def form_field(
    label: str | rx.Var[str],
    control: rx.Component,
    error: rx.Var[str] | str = "",
    *,
    html_for: str = "",
    hint: str | rx.Var[str] = "",
    test_id: str = "",
) -> rx.Component:
    """`error` is the message for this field (empty: none); it is announced to screen readers when it appears.

    Every form shows its messages this way (FormState has them by field): beside the field, all at once.
    """
    return rx.vstack(
        rx.el.label(label, html_for=html_for or None, font_size="var(--font-size-2)", font_weight="500"),
        control,
        *(
            [rx.text(hint, size="1", color_scheme="gray", data_testid=f"{test_id}-hint" if test_id else None)]
            if isinstance(hint, rx.Var) or hint
            else []
        ),
        field_message(error, test_id),
        spacing="1",
        width="100%",
    )


def field_message(error: rx.Var[str] | str, test_id: str = "") -> rx.Component:
    """A field's message on its own, for fields laid out without form_field (a picker, a list of choices)."""
    return rx.cond(
        error != "",
        rx.text(error, size="1", color_scheme="red", role="alert", data_testid=f"{test_id}-error" if test_id else None),
    )


def form_error(message: rx.Var[str]) -> rx.Component:
    """The API's message for the form as a whole (empty: none), above its buttons."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle-alert", color_scheme="red", role="alert", width="100%"),
    )
