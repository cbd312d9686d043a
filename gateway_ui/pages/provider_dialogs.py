"""The Model Providers page's dialogs: add provider, set credential, base URL, add model, prices, confirm."""

from __future__ import annotations

import reflex as rx

from gateway_ui.components.confirm_dialog import confirm_dialog
from gateway_ui.components.form_field import form_field
from gateway_ui.state.providers import PRICE_FIELDS, ProvidersState

PRICE_LABELS = (
    ("price_input", "Input"),
    ("price_output", "Output"),
    ("price_cache_read", "Cache read"),
    ("price_cache_write", "Cache write"),
)


def _error(name: str) -> rx.Var[str]:
    return ProvidersState.form_errors.get(name, "").to(str)


def _form_error() -> rx.Component:
    return rx.cond(
        _error("form") != "",
        rx.callout(_error("form"), icon="triangle-alert", color_scheme="red", role="alert", width="100%"),
    )


def _text_input(name: str, **props) -> rx.Component:
    return rx.input(id=f"field-{name}", name=name, width="100%", **props)


def _buttons(submit_label: str) -> rx.Component:
    return rx.flex(
        rx.dialog.close(
            rx.button(
                "Cancel", variant="soft", color_scheme="gray", type="button", on_click=ProvidersState.close_dialogs
            )
        ),
        rx.button(submit_label, type="submit", loading=ProvidersState.saving),
        spacing="3",
        justify="end",
        width="100%",
    )


def _dialog(is_open: rx.Var[bool], title: str | rx.Var[str], form: rx.Component, test_id: str) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            form,
            max_width="30rem",
            data_testid=test_id,
        ),
        open=is_open,
        on_open_change=lambda _opened: ProvidersState.close_dialogs,
    )


def _price_inputs(defaults: dict[str, rx.Var[str]] | None) -> rx.Component:
    return rx.grid(
        *[
            form_field(
                f"{label} (USD / 1M tokens)",
                _text_input(
                    name,
                    type="text",
                    input_mode="decimal",
                    placeholder="unknown",
                    **({"default_value": defaults[name]} if defaults else {}),
                ),
                _error(name),
                html_for=f"field-{name}",
            )
            for name, label in PRICE_LABELS
        ],
        columns=rx.breakpoints(initial="1", sm="2"),
        spacing="3",
        width="100%",
    )


def create_provider_dialog() -> rx.Component:
    form = rx.form(
        rx.vstack(
            form_field(
                "Name", _text_input("name", required=True, auto_focus=True), _error("name"), html_for="field-name"
            ),
            form_field(
                "Kind",
                rx.select(["anthropic", "openai"], name="kind", default_value="anthropic", width="100%"),
                _error("kind"),
            ),
            form_field(
                "Base URL",
                _text_input("base_url", placeholder="default: the provider's public API"),
                _error("base_url"),
                html_for="field-base_url",
                hint="With or without a trailing /v1.",
            ),
            form_field(
                "Credential (API key)",
                _text_input("credential", type="password", auto_complete="off", placeholder="can be set later"),
                _error("credential"),
                html_for="field-credential",
                hint="Stored encrypted; afterwards only its last 4 characters are shown.",
            ),
            _form_error(),
            _buttons("Add provider"),
            spacing="3",
        ),
        on_submit=ProvidersState.submit_create,
        reset_on_submit=False,
    )
    return _dialog(ProvidersState.create_open, "Add a provider", form, "create-provider-dialog")


def credential_dialog() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.text("The new key replaces the stored one at once.", size="2", color_scheme="gray"),
            form_field(
                "Credential (API key)",
                _text_input("credential", type="password", auto_complete="off", auto_focus=True),
                _error("credential"),
                html_for="field-credential",
            ),
            _form_error(),
            _buttons("Save credential"),
            spacing="3",
        ),
        on_submit=ProvidersState.submit_credential,
        reset_on_submit=False,
    )
    title = "Credential for " + ProvidersState.dialog_subject
    return _dialog(ProvidersState.credential_provider_id > 0, title, form, "credential-dialog")


def base_url_dialog() -> rx.Component:
    form = rx.form(
        rx.vstack(
            form_field(
                "Base URL",
                _text_input("base_url", default_value=ProvidersState.dialog_value, auto_focus=True),
                _error("base_url"),
                html_for="field-base_url",
                hint="With or without a trailing /v1.",
            ),
            _form_error(),
            _buttons("Save base URL"),
            spacing="3",
        ),
        on_submit=ProvidersState.submit_base_url,
        reset_on_submit=False,
    )
    title = "Base URL of " + ProvidersState.dialog_subject
    return _dialog(ProvidersState.base_url_provider_id > 0, title, form, "base-url-dialog")


def add_model_dialog() -> rx.Component:
    form = rx.form(
        rx.vstack(
            form_field(
                "Model name (as the provider spells it)",
                _text_input("name", required=True, auto_focus=True),
                _error("name"),
                html_for="field-name",
            ),
            form_field(
                "Display name", _text_input("display_name"), _error("display_name"), html_for="field-display_name"
            ),
            rx.text("Leave a price empty to use the shipped list price.", size="1", color_scheme="gray"),
            _price_inputs(None),
            rx.checkbox("Active (callable at once)", name="active", default_checked=True),
            _form_error(),
            _buttons("Add model"),
            spacing="3",
        ),
        on_submit=ProvidersState.submit_add_model,
        reset_on_submit=False,
    )
    title = "Add a model to " + ProvidersState.dialog_subject
    return _dialog(ProvidersState.add_model_provider_id > 0, title, form, "add-model-dialog")


def prices_dialog() -> rx.Component:
    defaults = {name: ProvidersState.price_defaults.get(name, "").to(str) for name in PRICE_FIELDS}
    form = rx.form(
        rx.vstack(
            rx.text("Empty means unknown: calls are then recorded without cost.", size="1", color_scheme="gray"),
            _price_inputs(defaults),
            _form_error(),
            _buttons("Save prices"),
            spacing="3",
        ),
        on_submit=ProvidersState.submit_prices,
        reset_on_submit=False,
        # Remount per model so default values are the chosen model's, not the previous one's.
        key=ProvidersState.price_model_id,
    )
    title = "Prices of " + ProvidersState.dialog_subject
    return _dialog(ProvidersState.price_model_id > 0, title, form, "prices-dialog")


def provider_confirm_dialog() -> rx.Component:
    return confirm_dialog(
        is_open=ProvidersState.confirm_action != "",
        title=ProvidersState.confirm_title,
        description=ProvidersState.confirm_text,
        confirm_label="Confirm",
        on_confirm=ProvidersState.confirm,
        on_cancel=ProvidersState.cancel_confirm,
        busy=ProvidersState.saving,
    )


def provider_dialogs() -> rx.Component:
    return rx.fragment(
        create_provider_dialog(),
        credential_dialog(),
        base_url_dialog(),
        add_model_dialog(),
        prices_dialog(),
        provider_confirm_dialog(),
    )
