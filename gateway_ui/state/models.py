"""Models page state: the signed-in user's granted models per provider, with a search box per provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import reflex as rx

from gateway_ui import client_setup
from gateway_ui.api import ApiError
from gateway_ui.api.me import MyModels
from gateway_ui.state.api_session import UiEvent, failure_event, session_api


@dataclass(frozen=True)
class GatewayModel:
    name: str
    display_name: str  # "" when it would only repeat the name


@dataclass(frozen=True)
class SetupSnippet:
    title: str
    hint: str
    text: str
    test_id: str


@dataclass(frozen=True)
class ProviderCard:
    kind: str
    label: str
    base_url: str
    model_count: int
    example_model: str
    curl_example: str
    setup: list[SetupSnippet] = field(default_factory=list)
    models: list[GatewayModel] = field(default_factory=list)


def _setup_snippets(public_url: str, kind: str, first_model: str) -> list[SetupSnippet]:
    if kind == client_setup.ANTHROPIC:
        return [
            SetupSnippet(
                "Claude Code",
                "Run in your shell; Claude Code then lists your gateway models under /model.",
                client_setup.claude_code_setup(public_url),
                "setup-claude-code",
            )
        ]
    if kind == client_setup.OPENAI:
        return [
            SetupSnippet(
                "Codex: ~/.codex/config.toml",
                "Add to your Codex configuration (the Responses API, without websockets).",
                client_setup.codex_config(public_url, first_model),
                "setup-codex-config",
            ),
            SetupSnippet(
                "Codex: key and start",
                "Then give Codex a gateway key and start it.",
                client_setup.codex_key_setup(public_url),
                "setup-codex-key",
            ),
        ]
    return []


def provider_cards(answer: MyModels) -> list[ProviderCard]:
    """GET /api/me/models as page cards (the API already orders providers Anthropic first); models sorted."""
    public_url = str(answer["public_url"])
    cards = []
    for provider in answer["providers"]:
        kind = str(provider["kind"])
        models = sorted(
            (
                GatewayModel(name=m["name"], display_name="" if m["display_name"] == m["name"] else m["display_name"])
                for m in provider["models"]
            ),
            key=lambda model: (model.name.lower(), model.name),
        )
        if not models:
            continue
        # "The user's own first model": the first one the API lists for them.
        first_model = str(provider["models"][0]["name"])
        cards.append(
            ProviderCard(
                kind=kind,
                label=client_setup.provider_label(kind),
                base_url=str(provider["base_url"]),
                model_count=len(models),
                example_model=first_model,
                curl_example=client_setup.curl_example(public_url, kind, first_model),
                setup=_setup_snippets(public_url, kind, first_model),
                models=models,
            )
        )
    return cards


def matching(models: list[GatewayModel], search: str) -> list[GatewayModel]:
    needle = search.strip().lower()
    if not needle:
        return models
    return [m for m in models if needle in m.name.lower() or needle in m.display_name.lower()]


class ModelsState(rx.State):
    all_cards: list[ProviderCard] = rx.field(default_factory=list)
    searches: dict[str, str] = rx.field(default_factory=dict)
    loading: bool = True
    load_error: str = ""
    cli_install: str = ""

    @rx.var
    def cards(self) -> list[ProviderCard]:
        """Each provider's card with its model list narrowed by that provider's search box."""
        return [
            replace(card, models=matching(card.models, self.searches.get(card.kind, ""))) for card in self.all_cards
        ]

    @rx.var
    def has_models(self) -> bool:
        return len(self.all_cards) > 0

    @rx.event
    async def load(self) -> AsyncIterator[UiEvent]:
        self.loading = True
        self.load_error = ""
        yield
        api = await session_api(self)
        try:
            answer = await api.my_models()
        except ApiError as exc:
            self.load_error = exc.message
            yield failure_event(exc, "Could not load your models")
            return
        finally:
            self.loading = False
        self.all_cards = provider_cards(answer)
        self.cli_install = client_setup.cli_install_command(str(answer["public_url"]))
        self.searches = {card.kind: "" for card in self.all_cards}

    @rx.event
    def set_search(self, kind: str, text: str) -> None:
        self.searches = {**self.searches, kind: text}
