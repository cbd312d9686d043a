"""Models page: the models you may call through the gateway, and how to point curl, Claude Code and Codex at them."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.copy_button import copy_button, copyable_code
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.state.auth import AuthState
from gateway_ui.state.models import GatewayModel, ModelsState, ProviderCard, SetupSnippet

PROVIDER_ICONS = {"anthropic": "sparkles", "openai": "bot"}


def _section(title: str, *children: rx.Component, hint: str | rx.Var[str] = "") -> rx.Component:
    return rx.vstack(
        rx.text(title, size="2", weight="bold"),
        rx.text(hint, size="1", color_scheme="gray") if hint else rx.fragment(),
        *children,
        spacing="2",
        width="100%",
    )


def _base_url(card: ProviderCard) -> rx.Component:
    return rx.hstack(
        rx.code(card.base_url, variant="soft", size="2", word_break="break-all", data_testid="base-url"),
        copy_button(card.base_url, f"Copy {card.label} base URL", f"copy-base-url-{card.kind}"),
        align="center",
        spacing="2",
        width="100%",
    )


def _setup_snippet(snippet: SetupSnippet) -> rx.Component:
    return rx.vstack(
        rx.text(snippet.title, size="2", weight="bold"),
        rx.text(snippet.hint, size="1", color_scheme="gray"),
        copyable_code(snippet.text, f"Copy {snippet.title}", snippet.test_id),
        spacing="2",
        width="100%",
    )


def _model_row(model: GatewayModel) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(
                model.name,
                font_family="var(--code-font-family)",
                size="2",
                word_break="break-all",
                data_testid="model-name",
            ),
            rx.cond(model.display_name != "", rx.text(model.display_name, size="1", color_scheme="gray")),
            spacing="0",
            min_width="0",
        ),
        rx.spacer(),
        copy_button(model.name, f"Copy model name {model.name}", f"copy-model-{model.name}"),
        align="center",
        width="100%",
        padding="0.4rem 0.6rem",
        border_bottom="1px solid var(--gray-a3)",
        data_testid="model-row",
    )


def _model_list(card: ProviderCard) -> rx.Component:
    return _section(
        "Available models",
        rx.input(
            rx.input.slot(rx.icon("search", size=14)),
            placeholder="Search models",
            on_change=lambda text: ModelsState.set_search(card.kind, text),
            aria_label=f"Search {card.label} models",
            width="100%",
            data_testid=f"model-search-{card.kind}",
        ),
        rx.cond(
            card.models.length() > 0,
            rx.box(
                rx.foreach(card.models, _model_row),
                width="100%",
                max_height="26rem",
                overflow_y="auto",
                border="1px solid var(--gray-a5)",
                border_radius="var(--radius-3)",
                data_testid=f"model-list-{card.kind}",
            ),
            rx.text("No models match your search.", size="2", color_scheme="gray", padding="0.5rem"),
        ),
    )


def _provider_card(card: ProviderCard) -> rx.Component:
    header = rx.hstack(
        rx.match(
            card.kind,
            *[(kind, rx.icon(icon, size=20)) for kind, icon in PROVIDER_ICONS.items()],
            rx.icon("server", size=20),
        ),
        rx.heading(card.label, size="4"),
        rx.spacer(),
        rx.badge(
            card.model_count,
            rx.cond(card.model_count == 1, " model available", " models available"),
            size="2",
            variant="soft",
            data_testid="model-count",
        ),
        align="center",
        width="100%",
        wrap="wrap",
    )
    how_to_call = rx.vstack(
        _section("Base URL", _base_url(card)),
        _section(
            "Example request",
            copyable_code(card.curl_example, f"Copy {card.label} curl example", f"curl-example-{card.kind}"),
            hint=f"Gets a key with the gateway CLI, then calls {card.example_model}.",
        ),
        rx.foreach(card.setup, _setup_snippet),
        spacing="4",
        width="100%",
        min_width="0",
    )
    return rx.card(
        rx.vstack(
            header,
            rx.grid(
                how_to_call,
                rx.box(_model_list(card), min_width="0"),
                columns=rx.breakpoints(initial="1", lg="2"),
                spacing="5",
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        size="3",
        width="100%",
        data_testid=f"provider-{card.kind}",
    )


def _no_models() -> rx.Component:
    return empty_state(
        "circle-slash",
        "No gateway models available",
        "You have no access to any OpenAI or Anthropic model through the gateway yet.",
        rx.text(
            "Ask an administrator to grant you models with a Model Access Policy (for your account ",
            rx.text.strong(AuthState.user_email),
            " or one of your groups), on a provider that has its API key configured.",
        ),
        test_id="no-models",
    )


def _load_error() -> rx.Component:
    return rx.callout(
        rx.hstack(
            rx.text("Could not load your models: ", ModelsState.load_error),
            rx.button("Try again", size="1", variant="soft", on_click=ModelsState.load),
            align="center",
            wrap="wrap",
        ),
        icon="triangle-alert",
        color_scheme="red",
        role="alert",
    )


@gateway_page(route=routes.MODELS, title="Models", on_load=[ModelsState.load])
def models_page() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Call these models by their exact names through the gateway, with a key from ",
            rx.code("gateway login --scope llm"),
            ".",
            color_scheme="gray",
            size="2",
        ),
        rx.cond(
            ModelsState.cli_install != "",
            _section(
                "Install the gateway CLI",
                copyable_code(ModelsState.cli_install, "Copy the CLI install command", "cli-install"),
            ),
        ),
        rx.cond(
            ModelsState.loading,
            loading_state("Loading your models…"),
            rx.cond(
                ModelsState.load_error != "",
                _load_error(),
                rx.cond(ModelsState.has_models, rx.foreach(ModelsState.cards, _provider_card), _no_models()),
            ),
        ),
        spacing="4",
        width="100%",
    )
