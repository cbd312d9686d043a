"""API Keys page: your keys (admins: everyone's), create one and see its secret once, revoke with confirmation."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.confirm_dialog import confirm_dialog
from gateway_ui.components.copy_button import copy_button
from gateway_ui.components.form_field import form_error, form_field
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.limits_dialog import limits_dialog
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.pages.key_list import UNNAMED, key_list, pager
from gateway_ui.state.auth import AuthState
from gateway_ui.state.keys import EXPIRY_CHOICES, KEY_SCOPE_CHOICES, NO_EXPIRY, KeysState


def _choice(value: str, label: str) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.radio_group.item(value=value, aria_label=label),
            rx.text(label, size="2"),
            align="center",
            spacing="2",
        ),
    )


def _expiry_choice(value: str, label: str) -> rx.Component:
    choice = _choice(value, label)
    # Only admins may mint keys that never expire (GATEWAY_ALLOW_USER_NON_EXPIRING_KEYS; the API decides).
    return rx.cond(AuthState.is_admin, choice) if value == NO_EXPIRY else choice


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
                rx.input(
                    id="key-name",
                    name="name",
                    placeholder="e.g. laptop, CI pipeline",
                    width="100%",
                    on_change=KeysState.clear_field_error("name"),
                ),
                KeysState.field_errors.get("name", ""),
                html_for="key-name",
                hint="Helps you recognise the key later. Optional.",
                test_id="key-name",
            ),
            form_field(
                "Expires",
                rx.radio_group.root(
                    rx.hstack(
                        *[_expiry_choice(value, label) for value, label in EXPIRY_CHOICES],
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
            form_field(
                "Use",
                rx.radio_group.root(
                    rx.hstack(
                        *[_choice(value, label) for value, label in KEY_SCOPE_CHOICES],
                        spacing="4",
                        wrap="wrap",
                    ),
                    value=KeysState.new_scope,
                    on_change=KeysState.set_new_scope,
                    aria_label="Use",
                ),
                "",
                hint="llm keys call the models (tools such as Claude Code); api keys automate the REST API with "
                "your rights and never call models.",
                test_id="key-scope",
            ),
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
        no_validate=True,
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
    session = KeysState.revoke_is_session
    return confirm_dialog(
        is_open=KeysState.confirm_open,
        title=rx.cond(session, "Sign out this session?", "Revoke this key?"),
        description=rx.cond(
            session,
            rx.text(
                "The browser signed in with this session is signed out at once.",
                rx.cond(KeysState.revoke_is_this_session, " It is this browser: you will be signed out here.", ""),
            ),
            rx.text(
                "Key ",
                rx.text.strong(rx.cond(KeysState.confirm_name != "", KeysState.confirm_name, UNNAMED)),
                " stops working at once for every client that uses it. This cannot be undone.",
            ),
        ),
        confirm_label=rx.cond(session, "Sign out", "Revoke key"),
        on_confirm=KeysState.confirm,
        on_cancel=KeysState.cancel_confirm,
        busy=KeysState.confirming,
        test_id="revoke-key-dialog",
    )


def _keys_section() -> rx.Component:
    return rx.vstack(
        rx.heading("API keys", size="4"),
        rx.text(
            "Keys for curl, the SDKs, Claude Code and Codex. Each one calls the gateway as its owner.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            KeysState.loading & (KeysState.keys.length() == 0),
            loading_state("Loading keys…"),
            rx.cond(
                KeysState.keys.length() > 0,
                rx.vstack(
                    key_list(KeysState.visible_keys, "keys"),
                    pager(KeysState.key_page, KeysState.key_pages, KeysState.set_key_page, "keys"),
                    spacing="2",
                    width="100%",
                ),
                empty_state(
                    "key-round",
                    "No API keys",
                    "Create one here, or with the Models page's snippets, to call the gateway from your tools.",
                    test_id="no-keys",
                ),
            ),
        ),
        spacing="3",
        width="100%",
    )


def _sessions_section() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.vstack(
                rx.heading("Browser sessions", size="4"),
                rx.text("Each sign-in to this UI; signing out ends one.", size="2", color_scheme="gray"),
                spacing="1",
            ),
            rx.spacer(),
            rx.button(
                rx.icon("log-out", size=14),
                "Sign out other sessions",
                variant="soft",
                color_scheme="red",
                disabled=KeysState.other_sessions == 0,
                loading=KeysState.signing_out_others,
                on_click=KeysState.sign_out_other_sessions,
                type="button",
                data_testid="sign-out-others",
            ),
            spacing="3",
            align="end",
            wrap="wrap",
            width="100%",
        ),
        key_list(KeysState.visible_sessions, "sessions"),
        pager(KeysState.session_page, KeysState.session_pages, KeysState.set_session_page, "sessions"),
        spacing="3",
        width="100%",
    )


@gateway_page(route=routes.KEYS, title="API Keys", on_load=[KeysState.load])
def keys_page() -> rx.Component:
    return rx.vstack(
        _toolbar(),
        _keys_section(),
        rx.divider(),
        _sessions_section(),
        _create_dialog(),
        _revoke_dialog(),
        limits_dialog(),
        spacing="4",
        width="100%",
    )
