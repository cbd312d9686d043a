"""Model Providers (admin): a card per provider with its credential, base URL, checks and model table."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.admin_only import admin_page, for_admins
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.pages.provider_dialogs import provider_dialogs
from gateway_ui.state.provider_dialogs import DELETE_MODEL, DELETE_PROVIDER, REMOVE_CREDENTIAL, ProviderDialogsState
from gateway_ui.state.providers import ModelRow, ProviderCard, ProvidersState


def _labelled(label: str, *content: rx.Component) -> rx.Component:
    return rx.flex(
        rx.text(label, size="2", color_scheme="gray", min_width="6rem"),
        *content,
        spacing="2",
        align="center",
        wrap="wrap",
    )


def _credential_row(card: ProviderCard) -> rx.Component:
    return _labelled(
        "Credential",
        rx.cond(
            card.configured,
            rx.badge(
                rx.icon("key-round", size=12),
                "Configured ····",
                card.credential_last4,
                color_scheme="green",
                data_testid="credential-status",
            ),
            rx.badge("Not configured", color_scheme="amber", data_testid="credential-status"),
        ),
        for_admins(
            rx.button(
                rx.cond(card.configured, "Change", "Set credential"),
                size="1",
                variant="soft",
                on_click=ProviderDialogsState.open_credential(card.id),
                type="button",
            )
        ),
        rx.cond(
            card.configured,
            for_admins(
                rx.button(
                    "Remove",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=ProviderDialogsState.ask(REMOVE_CREDENTIAL, card.id, card.name),
                    type="button",
                )
            ),
        ),
    )


def _base_url_row(card: ProviderCard) -> rx.Component:
    return _labelled(
        "Base URL",
        rx.code(card.base_url, word_break="break-all", data_testid="provider-base-url"),
        for_admins(
            rx.button(
                "Edit", size="1", variant="soft", on_click=ProviderDialogsState.open_base_url(card.id), type="button"
            )
        ),
    )


def _is_busy(card: ProviderCard, action: str) -> rx.Var[bool]:
    return (ProvidersState.busy_provider_id == card.id) & (ProvidersState.busy_action == action)


def _actions(card: ProviderCard) -> rx.Component:
    return rx.flex(
        for_admins(
            rx.button(
                rx.icon("plug-zap", size=14),
                "Test connection",
                variant="surface",
                loading=_is_busy(card, "test"),
                on_click=ProvidersState.check_connection(card.id),
                type="button",
            )
        ),
        for_admins(
            rx.button(
                rx.icon("download", size=14),
                "Import models",
                variant="surface",
                on_click=ProviderDialogsState.open_import(card.id),
                type="button",
            )
        ),
        for_admins(
            rx.button(
                rx.icon("plus", size=14),
                "Add model",
                variant="surface",
                on_click=ProviderDialogsState.open_add_model(card.id),
                type="button",
            )
        ),
        spacing="2",
        wrap="wrap",
    )


def _check_result(card: ProviderCard) -> rx.Component:
    return rx.cond(
        card.checked,
        rx.callout(
            card.check_message,
            icon=rx.cond(card.check_ok, "circle-check", "circle-x"),
            color_scheme=rx.cond(card.check_ok, "green", "red"),
            size="1",
            width="100%",
            data_testid="connection-result",
            data_ok=rx.cond(card.check_ok, "true", "false"),
        ),
    )


def _price_cell(value: rx.Var[str]) -> rx.Component:
    return rx.table.cell(value, text_align="right", white_space="nowrap")


def _model_row(card: ProviderCard, model: ModelRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(model.name, weight="medium", size="2", word_break="break-all"),
                rx.cond(model.display_name != model.name, rx.text(model.display_name, size="1", color_scheme="gray")),
                spacing="0",
            ),
        ),
        rx.table.cell(
            rx.switch(
                checked=model.active,
                on_change=lambda active: ProvidersState.set_model_active(model.id, active),
                aria_label="Active " + model.name,
            ),
        ),
        _price_cell(model.price_input),
        _price_cell(model.price_output),
        _price_cell(model.price_cache_read),
        _price_cell(model.price_cache_write),
        rx.table.cell(
            rx.hstack(
                for_admins(
                    rx.icon_button(
                        rx.icon("pencil", size=14),
                        size="1",
                        variant="ghost",
                        on_click=ProviderDialogsState.open_prices(card.id, model.id),
                        aria_label="Edit prices of " + model.name,
                        type="button",
                    )
                ),
                for_admins(
                    rx.icon_button(
                        rx.icon("trash-2", size=14),
                        size="1",
                        variant="ghost",
                        color_scheme="red",
                        on_click=ProviderDialogsState.ask(DELETE_MODEL, model.id, model.name),
                        aria_label="Delete " + model.name,
                        type="button",
                    )
                ),
                spacing="3",
            ),
        ),
        data_testid="model-row",
    )


def _model_table(card: ProviderCard) -> rx.Component:
    header = rx.table.header(
        rx.table.row(
            rx.table.column_header_cell("Model"),
            rx.table.column_header_cell("Active"),
            *[
                rx.table.column_header_cell(label, text_align="right", white_space="nowrap")
                for label in ("Input", "Output", "Cache read", "Cache write")
            ],
            rx.table.column_header_cell("Actions"),
        )
    )
    return rx.cond(
        card.models.length() > 0,
        rx.vstack(
            rx.box(
                rx.table.root(
                    header,
                    rx.table.body(rx.foreach(card.models, lambda model: _model_row(card, model))),
                    size="1",
                    width="100%",
                ),
                width="100%",
                overflow_x="auto",
            ),
            rx.text("Prices in USD per million tokens; - means unknown.", size="1", color_scheme="gray"),
            width="100%",
            spacing="1",
        ),
        rx.text("No models yet: import them from the provider or add one by name.", size="2", color_scheme="gray"),
    )


def _provider_card(card: ProviderCard) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading(card.name, size="4", word_break="break-all"),
                rx.badge(card.kind, variant="soft"),
                rx.text(
                    card.active_model_count, " of ", card.model_count, " models active", size="2", color_scheme="gray"
                ),
                rx.spacer(),
                for_admins(
                    rx.icon_button(
                        rx.icon("trash-2", size=16),
                        variant="ghost",
                        color_scheme="red",
                        on_click=ProviderDialogsState.ask(DELETE_PROVIDER, card.id, card.name),
                        aria_label="Delete provider " + card.name,
                        type="button",
                    )
                ),
                spacing="3",
                align="center",
                wrap="wrap",
                width="100%",
            ),
            _base_url_row(card),
            _credential_row(card),
            _actions(card),
            _check_result(card),
            _model_table(card),
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid="provider-card",
        data_provider=card.name,
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.text(
                "Upstream providers the gateway calls with its own credentials, and the models it offers.",
                size="2",
                color_scheme="gray",
            ),
            rx.spacer(),
            for_admins(
                rx.button(
                    rx.icon("plus", size=16), "Add provider", on_click=ProviderDialogsState.open_create, type="button"
                )
            ),
            spacing="3",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        rx.cond(
            ProvidersState.loading,
            loading_state("Loading providers…"),
            rx.cond(
                ProvidersState.providers.length() > 0,
                rx.vstack(rx.foreach(ProvidersState.providers, _provider_card), spacing="4", width="100%"),
                empty_state(
                    "server",
                    "No providers yet",
                    "Add Anthropic or OpenAI with an API key, then import or add the models users may call.",
                    test_id="providers-empty",
                ),
            ),
        ),
        provider_dialogs(),
        spacing="4",
        width="100%",
    )


@gateway_page(route=routes.PROVIDERS, title="Model Providers", on_load=[ProvidersState.load])
def providers_page() -> rx.Component:
    return admin_page(_content())
