"""API Keys page: your keys (admins: everyone's), create one and see its secret once, revoke with confirmation."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.confirm_dialog import confirm_dialog
from gateway_ui.components.copy_button import copy_button
from gateway_ui.components.form_field import form_error, form_field
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.limits_dialog import limits_button, limits_dialog
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.state.auth import AuthState
from gateway_ui.state.keys import EXPIRY_CHOICES, KeyRow, KeysState
from gateway_ui.state.limits import LimitsState

STATUS_COLORS = {"active": "green", "expired": "amber", "revoked": "gray"}
UNNAMED = "Unnamed key"


def _key_name(name: rx.Var[str]) -> rx.Component:
    return rx.cond(name != "", rx.text(name, weight="medium"), rx.text(UNNAMED, color_scheme="gray"))


def _status_badge(status: rx.Var[str]) -> rx.Component:
    return rx.match(
        status,
        *[(value, rx.badge(value, color_scheme=color, variant="soft")) for value, color in STATUS_COLORS.items()],
        rx.badge(status, variant="soft"),
    )


def _key_row(key: KeyRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                _key_name(key.name),
                rx.cond(key.is_this_session, rx.badge("this browser", variant="outline", size="1")),
                align="center",
                wrap="wrap",
            )
        ),
        rx.cond(KeysState.all_users, rx.table.cell(rx.text(key.owner), data_testid="key-owner")),
        rx.table.cell(rx.code(key.prefix, "…", variant="ghost"), data_testid="key-prefix"),
        rx.table.cell(key.scopes),
        rx.table.cell(key.created, white_space="nowrap"),
        rx.table.cell(key.last_used, white_space="nowrap"),
        rx.table.cell(key.expires, white_space="nowrap"),
        rx.table.cell(_status_badge(key.status), data_testid="key-status"),
        rx.table.cell(
            rx.hstack(
                limits_button(LimitsState.open_for_key(key.id, key.prefix + "…"), icon_only=True),
                rx.cond(
                    key.status != "revoked",
                    rx.button(
                        rx.icon("ban", size=14),
                        "Revoke",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=KeysState.ask_revoke(key.id, key.name, key.is_this_session),
                        aria_label=f"Revoke key {key.prefix}",
                    ),
                ),
                justify="end",
                spacing="2",
            ),
        ),
        align="center",
        data_testid=f"key-row-{key.prefix}",
    )


def _keys_table() -> rx.Component:
    headers = ["Name", "Prefix", "Scopes", "Created", "Last used", "Expires", "State"]
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell(headers[0]),
                rx.cond(KeysState.all_users, rx.table.column_header_cell("Owner")),
                *[rx.table.column_header_cell(label) for label in headers[1:]],
                rx.table.column_header_cell(aria_label="Actions"),
            )
        ),
        rx.table.body(rx.foreach(KeysState.keys, _key_row)),
        variant="surface",
        width="100%",
        data_testid="keys-table",
    )


def _toolbar() -> rx.Component:
    return rx.hstack(
        rx.button(rx.icon("plus", size=16), "Create key", on_click=KeysState.open_create),
        rx.spacer(),
        rx.cond(
            AuthState.is_admin,
            rx.el.label(
                rx.hstack(
                    rx.switch(checked=KeysState.all_users, on_change=KeysState.set_all_users),
                    rx.text("All users' keys", size="2"),
                    align="center",
                ),
            ),
        ),
        rx.el.label(
            rx.hstack(
                rx.switch(checked=KeysState.show_inactive, on_change=KeysState.set_show_inactive),
                rx.text("Show revoked and expired", size="2"),
                align="center",
            ),
        ),
        align="center",
        spacing="4",
        wrap="wrap",
        width="100%",
    )


def _create_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            form_field(
                "Name",
                rx.input(id="key-name", name="name", placeholder="e.g. laptop, CI pipeline", width="100%"),
                KeysState.field_errors.get("name", ""),
                html_for="key-name",
                hint="Helps you recognise the key later. Optional.",
                test_id="key-name",
            ),
            form_field(
                "Expires",
                rx.radio_group.root(
                    rx.hstack(
                        *[
                            rx.el.label(
                                rx.hstack(
                                    rx.radio_group.item(value=value, aria_label=label),
                                    rx.text(label, size="2"),
                                    align="center",
                                    spacing="2",
                                ),
                            )
                            for value, label in EXPIRY_CHOICES
                        ],
                        spacing="4",
                        wrap="wrap",
                    ),
                    value=KeysState.new_expiry,
                    on_change=KeysState.set_new_expiry,
                    aria_label="Expires",
                ),
                KeysState.expiry_error,
                test_id="key-expiry",
            ),
            form_error(KeysState.form_error),
            rx.text("The key can call the gateway's LLM proxy (scope llm).", size="1", color_scheme="gray"),
            rx.hstack(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                rx.button("Create key", type="submit", loading=KeysState.submitting),
                justify="end",
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=KeysState.create,
        reset_on_submit=False,
    )


def _secret_once() -> rx.Component:
    return rx.vstack(
        rx.callout(
            "Copy this key now. It will not be shown again: the gateway stores only a fingerprint of it.",
            icon="triangle-alert",
            color_scheme="amber",
            data_testid="secret-warning",
        ),
        rx.hstack(
            rx.code(
                KeysState.new_secret,
                variant="soft",
                size="2",
                overflow_wrap="anywhere",
                data_testid="new-key-secret",
            ),
            copy_button(KeysState.new_secret, "Copy the new key", "copy-new-key"),
            align="center",
            width="100%",
        ),
        rx.text("Use it as the x-api-key header, or as Authorization: Bearer.", size="2", color_scheme="gray"),
        rx.hstack(
            rx.button("Done", on_click=KeysState.close_form),
            justify="end",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


def _create_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(KeysState.new_secret != "", "Your new key", "Create an API key")),
            rx.dialog.description(
                rx.cond(
                    KeysState.new_secret != "",
                    rx.text("Key ", rx.text.strong(KeysState.new_secret_name), " is ready."),
                    "A personal key for curl, the SDKs, Claude Code or Codex.",
                ),
                size="2",
                margin_bottom="1rem",
            ),
            rx.cond(KeysState.new_secret != "", _secret_once(), _create_form()),
            max_width="32rem",
            data_testid="create-key-dialog",
        ),
        open=KeysState.form_open,
        on_open_change=KeysState.set_form_open,
    )


def _revoke_dialog() -> rx.Component:
    return confirm_dialog(
        is_open=KeysState.confirm_open,
        title="Revoke this key?",
        description=rx.text(
            "Key ",
            rx.text.strong(rx.cond(KeysState.confirm_name != "", KeysState.confirm_name, UNNAMED)),
            " stops working at once for every client that uses it. This cannot be undone.",
            rx.cond(KeysState.revoke_is_this_session, " It is this browser's session: you will be signed out.", ""),
        ),
        confirm_label="Revoke key",
        on_confirm=KeysState.confirm,
        on_cancel=KeysState.cancel_confirm,
        busy=KeysState.confirming,
        test_id="revoke-key-dialog",
    )


def _key_list() -> rx.Component:
    return rx.cond(
        KeysState.loading & (KeysState.keys.length() == 0),
        loading_state("Loading keys…"),
        rx.cond(
            KeysState.keys.length() > 0,
            _keys_table(),
            empty_state(
                "key-round",
                "No API keys",
                "Create a key here, or run gateway login --scope llm --print-token, to call the gateway.",
                test_id="no-keys",
            ),
        ),
    )


@gateway_page(route=routes.KEYS, title="API Keys", on_load=[KeysState.load])
def keys_page() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Keys let scripts and tools call the gateway as you. Browser sign-ins and gateway login create keys too.",
            color_scheme="gray",
            size="2",
        ),
        _toolbar(),
        _key_list(),
        _create_dialog(),
        _revoke_dialog(),
        limits_dialog(),
        spacing="4",
        width="100%",
    )
