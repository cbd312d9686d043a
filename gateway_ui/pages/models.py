"""Models page: the models you may call through the gateway, and how to point curl, Claude Code and Codex at them."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.copy_button import copy_button, copyable_code
from gateway_ui.components.form_field import form_error, form_field
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.state.auth import AuthState
from gateway_ui.state.keys import EXPIRY_CHOICES, NO_EXPIRY
from gateway_ui.state.models import GatewayModel, ModelsState, ProviderCard, SetupSnippet

PROVIDER_ICONS = {"anthropic": "sparkles", "openai": "bot"}


def _section(title: str, *children: rx.Component, hint: str | rx.Var[str] = "") -> rx.Component:
    return rx.vstack(
        rx.text(title, size="2", weight="bold"),
        rx.text(hint, size="1", color_scheme="gray") if isinstance(hint, rx.Var) or hint else rx.fragment(),
        *children,
        spacing="2",
        width="100%",
    )


def _snippet_code(snippet: SetupSnippet) -> rx.Component:
    """A snippet as it is copied: the key line made on this page in front of it when it reads $GATEWAY_KEY."""
    with_key = snippet.needs_key & (ModelsState.key_line != "")
    return copyable_code(
        rx.cond(with_key, ModelsState.key_line + snippet.text, snippet.text),
        "Copy " + snippet.title,
        snippet.test_id,
        parts=rx.cond(with_key, ModelsState.key_line_parts + snippet.parts, snippet.parts),
    )


def _setup_snippet(snippet: SetupSnippet) -> rx.Component:
    return rx.vstack(
        rx.text(snippet.title, size="2", weight="bold"),
        rx.text(snippet.hint, size="1", color_scheme="gray"),
        _snippet_code(snippet),
        spacing="2",
        width="100%",
    )


def _base_url(card: ProviderCard) -> rx.Component:
    return rx.hstack(
        rx.code(card.base_url, variant="soft", size="2", overflow_wrap="anywhere", data_testid="base-url"),
        copy_button(card.base_url, f"Copy {card.label} base URL", f"copy-base-url-{card.kind}"),
        align="center",
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
                overflow_wrap="anywhere",
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
                max_height=["16rem", "16rem", "26rem"],
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
        _section("Example request", _snippet_code(card.curl), hint=card.curl.hint),
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
                # On a phone the list comes first: it is what the page is about; the snippets follow.
                rx.box(_model_list(card), min_width="0", order=rx.breakpoints(initial="-1", lg="0")),
                columns=rx.breakpoints(initial="1", lg="2"),
                spacing="5",
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        size=rx.breakpoints(initial="2", sm="3"),
        width="100%",
        data_testid=f"provider-{card.kind}",
    )


def _expiry_choice() -> rx.Component:
    items = [
        rx.select.item(label, value=value)
        if value != NO_EXPIRY
        else rx.cond(AuthState.is_admin, rx.select.item(label, value=value))
        for value, label in EXPIRY_CHOICES
    ]
    return rx.select.root(
        rx.select.trigger(aria_label="Key expires after", id="snippet-key-expiry"),
        rx.select.content(*items),
        value=ModelsState.key_expiry,
        on_change=ModelsState.set_key_expiry,
    )


def cli_hint() -> rx.Component:
    """How to get a key with the gateway CLI: the one command that installs it from this gateway, then sign-in."""
    return rx.vstack(
        rx.cond(
            ModelsState.cli_install != "",
            rx.vstack(
                rx.text("Install the gateway CLI from this gateway:", size="1", color_scheme="gray"),
                copyable_code(ModelsState.cli_install, "Copy the CLI install command", "cli-install"),
                spacing="1",
                width="100%",
            ),
        ),
        rx.text(
            "With the gateway CLI: ",
            rx.code(ModelsState.login_command, overflow_wrap="anywhere", data_testid="cli-login-command"),
            size="1",
            color_scheme="gray",
        ),
        spacing="2",
        width="100%",
    )


def _make_key_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(
                "The snippets read your key from ",
                rx.code("$GATEWAY_KEY"),
                ". Make one for them here and it fills every snippet; or set GATEWAY_KEY yourself, with a key from ",
                rx.link("API Keys", href=routes.KEYS),
                ".",
                size="2",
                data_testid="key-note",
            ),
            rx.flex(
                rx.box(
                    form_field(
                        "Expires after",
                        _expiry_choice(),
                        ModelsState.field_errors.get("expires_in_days", ""),
                        html_for="snippet-key-expiry",
                        test_id="snippet-key-expiry",
                    ),
                ),
                rx.button(
                    rx.icon("key-round", size=14),
                    "Create a key for these snippets",
                    type="submit",
                    loading=ModelsState.submitting,
                    data_testid="create-snippet-key",
                ),
                spacing="3",
                align="end",
                wrap="wrap",
            ),
            form_error(ModelsState.form_error),
            cli_hint(),
            spacing="3",
            width="100%",
        ),
        on_submit=ModelsState.create_snippet_key,
        reset_on_submit=False,
    )


def _key_made() -> rx.Component:
    return rx.vstack(
        rx.callout(
            "Copy this key now if you want it elsewhere: it is shown only here, until you leave this page.",
            icon="triangle-alert",
            color_scheme="amber",
            width="100%",
        ),
        rx.hstack(
            rx.code(ModelsState.snippet_key, variant="soft", overflow_wrap="anywhere", data_testid="snippet-key"),
            copy_button(ModelsState.snippet_key, "Copy the key", "copy-snippet-key"),
            align="center",
            width="100%",
        ),
        rx.text(
            "Every snippet below now starts with it (key ",
            rx.code(ModelsState.snippet_key_prefix, "…"),
            ", expires ",
            ModelsState.snippet_key_expires,
            ").",
            size="2",
        ),
        rx.button(
            "Take it out of the snippets",
            variant="ghost",
            size="1",
            on_click=ModelsState.forget_snippet_key,
            type="button",
        ),
        spacing="2",
        width="100%",
        data_testid="snippet-key-made",
    )


def _key_panel() -> rx.Component:
    return rx.card(
        rx.cond(ModelsState.snippet_key != "", _key_made(), _make_key_form()),
        width="100%",
        data_testid="key-panel",
    )


def _no_models() -> rx.Component:
    return empty_state(
        "circle-slash",
        "No gateway models available",
        "You have no access to any OpenAI or Anthropic model through the gateway yet.",
        rx.cond(
            AuthState.is_admin,
            rx.text(
                "As an admin you grant them: add a provider and its models on ",
                rx.link("Model Providers", href=routes.PROVIDERS),
                ", then a policy naming you, a group of yours or all users on ",
                rx.link("Model Access Policies", href=routes.POLICIES),
                ".",
            ),
            rx.text(
                "Ask an administrator to grant you models with a Model Access Policy (for your account ",
                rx.text.strong(AuthState.user_email),
                " or one of your groups), on a provider that has its API key configured.",
            ),
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
            "Call these models by their exact names through the gateway, with a gateway key.",
            color_scheme="gray",
            size="2",
        ),
        rx.cond(
            ModelsState.loading,
            loading_state("Loading your models…"),
            rx.cond(
                ModelsState.load_error != "",
                _load_error(),
                rx.cond(
                    ModelsState.has_models,
                    rx.vstack(
                        _key_panel(),
                        rx.foreach(ModelsState.cards, _provider_card),
                        spacing="4",
                        width="100%",
                    ),
                    _no_models(),
                ),
            ),
        ),
        spacing="4",
        width="100%",
    )
