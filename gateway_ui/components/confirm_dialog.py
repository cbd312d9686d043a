"""A confirmation dialog for destructive actions, opened and closed by page state."""

from __future__ import annotations

import reflex as rx


def confirm_dialog(
    *,
    is_open: rx.Var[bool],
    title: str | rx.Var[str],
    description: str | rx.Var[str] | rx.Component,
    confirm_label: str | rx.Var[str],
    on_confirm: rx.event.EventType[()],
    on_cancel: rx.event.EventType[()],
    busy: rx.Var[bool] | bool = False,
    test_id: str = "confirm-dialog",
) -> rx.Component:
    """Cancel / confirm buttons; closing the dialog any other way (Escape, overlay) counts as cancel.

    Texts are rendered as text, so names users typed (a provider, a policy) can never become markup.
    """
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description, size="2"),
            rx.flex(
                rx.alert_dialog.cancel(
                    rx.button("Cancel", variant="soft", color_scheme="gray", on_click=on_cancel, type="button"),
                ),
                rx.button(
                    confirm_label,
                    color_scheme="red",
                    on_click=on_confirm,
                    loading=busy,
                    type="button",
                    data_testid=f"{test_id}-confirm",
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            max_width="28rem",
            data_testid=test_id,
        ),
        open=is_open,
        # No trigger: the only open-change the dialog reports itself is closing (Escape), which cancels.
        on_open_change=lambda _opened: on_cancel,
    )
