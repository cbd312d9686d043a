"""The Model Providers page's dialogs: add provider, set credential, base URL, add model, prices, confirm."""

from __future__ import annotations

from typing import Any

import reflex as rx

from gateway_ui.components.confirm_dialog import confirm_dialog
from gateway_ui.components.form_field import form_error, form_field
from gateway_ui.state.provider_dialogs import (
    ADD_MODEL,
    BASE_URL,
    CREATE_PROVIDER,
    CREDENTIAL,
    IMPORT,
    PRICES,
    ProviderDialogsState,
)
from gateway_ui.state.providers import PRICE_FIELDS

PRICE_LABELS = (
    ("price_input", "Input"),
    ("price_output", "Output"),
    ("price_cache_read", "Cache read"),
    ("price_cache_write", "Cache write"),
)


def _error(name: str) -> rx.Var[str]:
    return ProviderDialogsState.field_errors.get(name, "").to(str)


def _form_error() -> rx.Component:
    return form_error(ProviderDialogsState.form_error)


def _is_open(form_kind: str) -> rx.Var[bool]:
    return ProviderDialogsState.form_open & (ProviderDialogsState.form_kind == form_kind)


def _text_input(name: str, **props: Any) -> rx.Component:
    # Typing in a field with a message clears it: the message described what was there before.
    return rx.input(
        id=f"field-{name}",
        name=name,
        width="100%",
        on_change=ProviderDialogsState.clear_field_error(name),
        **props,
    )


def _buttons(submit_label: str) -> rx.Component:
    return rx.flex(
        # Closing the dialog reports itself (set_form_open): one event, not a second close racing a reopen.
        rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
        rx.button(submit_label, type="submit", loading=ProviderDialogsState.submitting),
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
        on_open_change=ProviderDialogsState.set_form_open,
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
                test_id=f"field-{name}",
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
                "Name",
                _text_input("name", auto_focus=True, placeholder="e.g. Anthropic"),
                _error("name"),
                html_for="field-name",
                test_id="field-name",
            ),
            form_field(
                "Kind",
                rx.select(["anthropic", "openai"], name="kind", default_value="anthropic", width="100%"),
                _error("kind"),
                test_id="field-kind",
            ),
            form_field(
                "Base URL",
                _text_input("base_url", placeholder="default: the provider's public API"),
                _error("base_url"),
                html_for="field-base_url",
                hint="With or without a trailing /v1.",
                test_id="field-base_url",
            ),
            form_field(
                "Credential (API key)",
                _text_input("credential", type="password", auto_complete="off", placeholder="can be set later"),
                _error("credential"),
                html_for="field-credential",
                hint="Stored encrypted; afterwards only its last 4 characters are shown.",
                test_id="field-credential",
            ),
            _form_error(),
            _buttons("Add provider"),
            spacing="3",
        ),
        on_submit=ProviderDialogsState.submit_create,
        reset_on_submit=False,
        # Every message comes from one place (the form's own checks and the API's), beside its field.
        no_validate=True,
    )
    return _dialog(_is_open(CREATE_PROVIDER), "Add a provider", form, "create-provider-dialog")


def credential_dialog() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.text("The new key replaces the stored one at once.", size="2", color_scheme="gray"),
            form_field(
                "Credential (API key)",
                _text_input("credential", type="password", auto_complete="off", auto_focus=True),
                _error("credential"),
                html_for="field-credential",
                test_id="field-credential",
            ),
            _form_error(),
            _buttons("Save credential"),
            spacing="3",
        ),
        on_submit=ProviderDialogsState.submit_credential,
        reset_on_submit=False,
        no_validate=True,
    )
    title = "Credential for " + ProviderDialogsState.dialog_subject
    return _dialog(_is_open(CREDENTIAL), title, form, "credential-dialog")


def base_url_dialog() -> rx.Component:
    form = rx.form(
        rx.vstack(
            form_field(
                "Base URL",
                _text_input("base_url", default_value=ProviderDialogsState.dialog_value, auto_focus=True),
                _error("base_url"),
                html_for="field-base_url",
                hint="With or without a trailing /v1. The credential is bound to its host: another scheme, host or "
                "port removes it unless you enter the key for the new host below.",
                test_id="field-base_url",
            ),
            form_field(
                "Credential for the new host (optional)",
                _text_input("credential", type="password", auto_complete="off", placeholder="keep the stored one"),
                _error("credential"),
                html_for="field-credential",
                test_id="field-credential",
            ),
            _form_error(),
            _buttons("Save base URL"),
            spacing="3",
        ),
        on_submit=ProviderDialogsState.submit_base_url,
        reset_on_submit=False,
        no_validate=True,
    )
    title = "Base URL of " + ProviderDialogsState.dialog_subject
    return _dialog(_is_open(BASE_URL), title, form, "base-url-dialog")


def add_model_dialog() -> rx.Component:
    form = rx.form(
        rx.vstack(
            form_field(
                "Model name (as the provider spells it)",
                _text_input("name", auto_focus=True, placeholder="e.g. claude-opus-4-8"),
                _error("name"),
                html_for="field-name",
                test_id="field-name",
            ),
            form_field(
                "Display name",
                _text_input("display_name"),
                _error("display_name"),
                html_for="field-display_name",
                test_id="field-display_name",
            ),
            rx.text("Leave a price empty to use the shipped list price.", size="1", color_scheme="gray"),
            _price_inputs(None),
            rx.checkbox("Active (callable at once)", name="active", default_checked=True),
            _form_error(),
            _buttons("Add model"),
            spacing="3",
        ),
        on_submit=ProviderDialogsState.submit_add_model,
        reset_on_submit=False,
        no_validate=True,
    )
    title = "Add a model to " + ProviderDialogsState.dialog_subject
    return _dialog(_is_open(ADD_MODEL), title, form, "add-model-dialog")


def prices_dialog() -> rx.Component:
    defaults = {name: ProviderDialogsState.price_defaults.get(name, "").to(str) for name in PRICE_FIELDS}
    form = rx.form(
        rx.vstack(
            rx.text("Empty means unknown: calls are then recorded without cost.", size="1", color_scheme="gray"),
            _price_inputs(defaults),
            _form_error(),
            _buttons("Save prices"),
            spacing="3",
        ),
        on_submit=ProviderDialogsState.submit_prices,
        reset_on_submit=False,
        no_validate=True,
        # Remount per model so default values are the chosen model's, not the previous one's.
        key=ProviderDialogsState.target_id,
    )
    title = "Prices of " + ProviderDialogsState.dialog_subject
    return _dialog(_is_open(PRICES), title, form, "prices-dialog")


def import_dialog() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.text(
                "Adds every model the provider lists that the gateway does not have yet, with the provider's "
                "display names and the shipped list prices.",
                size="2",
                color_scheme="gray",
            ),
            rx.checkbox(
                "Activate them now (a policy still decides who may call them)",
                name="activate",
                default_checked=True,
                data_testid="import-activate",
            ),
            _form_error(),
            _buttons("Import models"),
            spacing="3",
        ),
        on_submit=ProviderDialogsState.submit_import,
        reset_on_submit=False,
    )
    title = "Import the models of " + ProviderDialogsState.dialog_subject
    return _dialog(_is_open(IMPORT), title, form, "import-dialog")


def provider_confirm_dialog() -> rx.Component:
    return confirm_dialog(
        is_open=ProviderDialogsState.confirm_open,
        title=ProviderDialogsState.confirm_title,
        description=ProviderDialogsState.confirm_text,
        confirm_label="Confirm",
        on_confirm=ProviderDialogsState.confirm,
        on_cancel=ProviderDialogsState.cancel_confirm,
        busy=ProviderDialogsState.confirming,
    )


def provider_dialogs() -> rx.Component:
    return rx.fragment(
        create_provider_dialog(),
        credential_dialog(),
        base_url_dialog(),
        add_model_dialog(),
        prices_dialog(),
        import_dialog(),
        provider_confirm_dialog(),
    )
