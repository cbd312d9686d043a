"""Models page state: the signed-in user's granted models per provider, the snippets to call them, and the key
the page can make for those snippets.

The base URLs are the address the browser uses (its page origin) unless GATEWAY_PUBLIC_URL is set: a gateway on
another port, host name or behind a proxy shows the address that works from where the user sits.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import reflex as rx

from gateway_ui import client_setup
from gateway_ui.api import ApiError
from gateway_ui.api.me import MyModels
from gateway_ui.state.api_session import UiEvent, failure_event, session_api, short_timestamp
from gateway_ui.state.auth import AuthState
from gateway_ui.state.base import FormState
from gateway_ui.state.keys import DEFAULT_EXPIRY, expiry_days
from gateway_ui.state.unpickled import without_secrets

SNIPPET_KEY_NAME = "Models page snippets"
# A page origin as browsers send it: scheme, host (name, IPv4 or [IPv6]) and port, nothing else.
ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?")


@dataclass(frozen=True)
class GatewayModel:
    name: str
    display_name: str  # "" when it would only repeat the name


@dataclass(frozen=True)
class SetupSnippet:
    title: str
    hint: str
    text: str  # what the copy button copies (without the key line)
    parts: list[str]  # `text` cut where a narrow screen may wrap it
    test_id: str
    needs_key: bool = True  # a shell snippet that reads $GATEWAY_KEY: the page's key line goes in front


def snippet(title: str, hint: str, text: str, test_id: str, *, needs_key: bool = True) -> SetupSnippet:
    return SetupSnippet(title, hint, text, client_setup.wrap_points(text), test_id, needs_key)


@dataclass(frozen=True)
class ProviderCard:
    kind: str
    label: str
    base_url: str
    model_count: int
    example_model: str
    curl: SetupSnippet
    setup: list[SetupSnippet] = field(default_factory=list)
    models: list[GatewayModel] = field(default_factory=list)


def _setup_snippets(public_url: str, kind: str, model_names: list[str]) -> list[SetupSnippet]:
    if kind == client_setup.ANTHROPIC:
        return [
            snippet(
                "Claude Code",
                "Run in your shell; Claude Code starts on one of your models and lists the others under /model.",
                client_setup.claude_code_setup(public_url, model_names),
                "setup-claude-code",
            )
        ]
    if kind == client_setup.OPENAI:
        return [
            snippet(
                "Codex: ~/.codex/config.toml",
                "Add to your Codex configuration (the Responses API, without websockets).",
                client_setup.codex_config(public_url, model_names[0]),
                "setup-codex-config",
                needs_key=False,
            ),
            snippet(
                "Codex: start",
                "Then start Codex in a shell that has the key; it reads it from GATEWAY_KEY.",
                client_setup.codex_start(),
                "setup-codex-start",
            ),
        ]
    return []


def page_url(answer: MyModels, browser_origin: str) -> str:
    """The address for every snippet: GATEWAY_PUBLIC_URL when set, else the browser's own (if it is one)."""
    if not answer.get("public_url_configured", True) and ORIGIN.fullmatch(browser_origin):
        return browser_origin
    return str(answer["public_url"])


def provider_cards(answer: MyModels, public_url: str) -> list[ProviderCard]:
    """GET /api/me/models as page cards (the API already orders providers Anthropic first); models sorted."""
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
        # The examples use the user's own models, the first the API lists first.
        names = [str(m["name"]) for m in provider["models"]]
        cards.append(
            ProviderCard(
                kind=kind,
                label=client_setup.provider_label(kind),
                base_url=client_setup.proxy_base_url(public_url, kind),
                model_count=len(models),
                example_model=names[0],
                curl=snippet(
                    f"{client_setup.provider_label(kind)} curl example",
                    f"Calls {names[0]} once.",
                    client_setup.curl_example(public_url, kind, names[0]),
                    f"curl-example-{kind}",
                ),
                setup=_setup_snippets(public_url, kind, names),
                models=models,
            )
        )
    return cards


def matching(models: list[GatewayModel], search: str) -> list[GatewayModel]:
    needle = search.strip().lower()
    if not needle:
        return models
    return [m for m in models if needle in m.name.lower() or needle in m.display_name.lower()]


class ModelsState(FormState, rx.State):
    """The page's one form makes a key for the snippets; its secret is shown once and only while the page is open."""

    all_cards: list[ProviderCard] = rx.field(default_factory=list)
    searches: dict[str, str] = rx.field(default_factory=dict)
    public_url: str = ""
    loading: bool = True
    load_error: str = ""
    cli_install: str = ""

    key_expiry: str = DEFAULT_EXPIRY
    # The key made for the snippets: its secret fills them until the user leaves the page.
    snippet_key: str = ""
    snippet_key_prefix: str = ""
    snippet_key_expires: str = ""

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without snippet_key (state/unpickled.py)."""
        return without_secrets(super().__getstate__(), ("snippet_key",))

    @rx.var
    def cards(self) -> list[ProviderCard]:
        """Each provider's card with its model list narrowed by that provider's search box."""
        return [
            replace(card, models=matching(card.models, self.searches.get(card.kind, ""))) for card in self.all_cards
        ]

    @rx.var
    def has_models(self) -> bool:
        return len(self.all_cards) > 0

    @rx.var
    def key_line(self) -> str:
        """What goes in front of every snippet that reads $GATEWAY_KEY: the key made here, or nothing."""
        return client_setup.key_export_line(self.snippet_key) + "\n" if self.snippet_key else ""

    @rx.var
    def key_line_parts(self) -> list[str]:
        return client_setup.wrap_points(self.key_line)

    @rx.var
    def login_command(self) -> str:
        return client_setup.login_command(self.public_url) if self.public_url else ""

    def _forget_key(self) -> None:
        self.snippet_key = self.snippet_key_prefix = self.snippet_key_expires = ""

    @rx.event
    async def load(self) -> AsyncIterator[UiEvent]:
        self.loading = True
        self.load_error = ""
        self._forget_key()  # shown once: a key made on an earlier visit is not shown again
        self._clear_errors()
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
        self.public_url = page_url(answer, self.router.url.origin)
        self.all_cards = provider_cards(answer, self.public_url)
        self.cli_install = client_setup.cli_install_command(self.public_url)
        self.searches = {card.kind: "" for card in self.all_cards}

    @rx.event
    def set_search(self, kind: str, text: str) -> None:
        self.searches = {**self.searches, kind: text}

    @rx.event
    def set_key_expiry(self, value: str) -> None:
        self.key_expiry = value
        self._forget_error("expires_in_days")

    @rx.event
    async def create_snippet_key(self, _form: dict[str, Any]) -> AsyncIterator[UiEvent]:
        self._start_submit()
        yield
        auth = await self.get_state(AuthState)
        days = expiry_days(self.key_expiry)
        if days is None and not auth.is_admin:
            days = expiry_days(DEFAULT_EXPIRY)  # only admins are offered keys that never expire
        api = await session_api(self)
        try:
            created = await api.keys.create(SNIPPET_KEY_NAME, days)
        except ApiError as exc:
            yield self._form_failed(exc, ("expires_in_days", "no_expiration"))
            return
        finally:
            self.submitting = False
        self.snippet_key = created.secret
        self.snippet_key_prefix = created.prefix
        self.snippet_key_expires = short_timestamp(created.expires_at, "never")

    @rx.event
    def forget_snippet_key(self) -> None:
        """Take the key out of the snippets (it keeps working; revoke it on the API Keys page)."""
        self._forget_key()
