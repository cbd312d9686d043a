"""The usage-limits dialog shared by the Users and API Keys pages (admins edit; a key's owner sees it read-only)."""

from __future__ import annotations

import reflex as rx

from gateway_ui.components.form_field import form_error, form_field
from gateway_ui.components.list_states import loading_state
from gateway_ui.state.limits import LIMIT_FIELDS, SUBJECT_USER, LimitsState


def limits_button(on_click: rx.EventSpec, *, icon_only: bool = False) -> rx.Component:
    """The per-row "Limits" action (icon only where a wide table has no room for its text).

    No aria-label naming the row: it would make "Edit"/"Revoke" lookups ambiguous whenever an email or prefix
    contains such a word; the row itself says whose limits these are.
    """
    if icon_only:
        return rx.tooltip(
            rx.icon_button(rx.icon("gauge", size=14), size="1", variant="soft", on_click=on_click, aria_label="Limits"),
            content="Limits",
        )
    return rx.button(rx.icon("gauge", size=14), "Limits", size="1", variant="soft", on_click=on_click)


def _limit_field(name: str, label: str) -> rx.Component:
    input_id = f"limit-{name}"
    return form_field(
        label,
        rx.input(
            id=input_id,
            value=LimitsState.values.get(name, ""),
            on_change=lambda value: LimitsState.set_value(name, value),
            placeholder="inherit",
            input_mode="decimal",
            read_only=~LimitsState.can_edit,
            width="100%",
        ),
        LimitsState.field_errors.get(name, ""),
        html_for=input_id,
        hint=LimitsState.hints.get(name, "").to(str),
        test_id=input_id,
    )


def _limits_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.grid(
                *[_limit_field(name, label) for name, label in LIMIT_FIELDS],
                columns=rx.breakpoints(initial="1", sm="2"),
                spacing="4",
                width="100%",
            ),
            rx.text(
                "Token quotas count per ",
                LimitsState.token_window_hours,
                " h window. 0 blocks; an empty field inherits.",
                size="1",
                color_scheme="gray",
            ),
            form_error(LimitsState.form_error),
            rx.hstack(
                rx.dialog.close(
                    rx.button(
                        rx.cond(LimitsState.can_edit, "Cancel", "Close"),
                        variant="soft",
                        color_scheme="gray",
                        type="button",
                    )
                ),
                rx.cond(
                    LimitsState.can_edit,
                    rx.button("Save limits", type="submit", loading=LimitsState.submitting),
                ),
                justify="end",
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=lambda _form: LimitsState.save,
        reset_on_submit=False,
        no_validate=True,
    )


def limits_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(LimitsState.subject == SUBJECT_USER, "User limits", "Key limits")),
            rx.dialog.description(
                rx.text(
                    rx.text.strong(LimitsState.subject_label),
                    rx.cond(
                        LimitsState.can_edit,
                        rx.cond(
                            LimitsState.subject == SUBJECT_USER,
                            ": overrides of the gateway defaults for this user's calls (keys with limits of their "
                            "own use those).",
                            ": overrides that beat the limits of the key's owner.",
                        ),
                        ": the limits this key's calls get. Only administrators change them.",
                    ),
                ),
                size="2",
                margin_bottom="1rem",
                overflow_wrap="anywhere",  # long emails must not widen the dialog on a phone
            ),
            rx.cond(LimitsState.loading, loading_state("Loading limits…"), _limits_form()),
            max_width="36rem",
            data_testid="limits-dialog",
        ),
        open=LimitsState.form_open,
        on_open_change=LimitsState.set_form_open,
    )
