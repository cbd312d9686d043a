"""Model Providers page state: providers with their models, connection checks, imports, switching models on and off.

The page's dialogs (add, credential, base URL, prices, confirmations) are ProviderDialogsState's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import reflex as rx

from gateway_ui.api import ApiError, UserApi
from gateway_ui.api.providers import Model, Provider
from gateway_ui.state.api_session import UiEvent, failure_event, session_api
from gateway_ui.state.auth import AuthState

PRICE_FIELDS = ("price_input", "price_output", "price_cache_read", "price_cache_write")
UNKNOWN_PRICE = "-"

Answer = TypeVar("Answer")


def price_text(value: float | None) -> str:
    """USD per million tokens as typed back into a form: no trailing zeros, "-" when unknown."""
    return UNKNOWN_PRICE if value is None else f"{value:g}"


@dataclass
class ModelRow:
    id: int = 0
    name: str = ""
    display_name: str = ""
    active: bool = False
    price_input: str = UNKNOWN_PRICE
    price_output: str = UNKNOWN_PRICE
    price_cache_read: str = UNKNOWN_PRICE
    price_cache_write: str = UNKNOWN_PRICE


@dataclass
class ProviderCard:
    id: int = 0
    name: str = ""
    kind: str = ""
    base_url: str = ""
    configured: bool = False
    credential_last4: str = ""
    model_count: int = 0
    active_model_count: int = 0
    models: list[ModelRow] = field(default_factory=list)
    # The last "Test connection" outcome, kept across reloads of the list.
    checked: bool = False
    check_ok: bool = False
    check_message: str = ""


def model_row(model: Model) -> ModelRow:
    return ModelRow(
        id=model.id,
        name=model.name,
        display_name=model.display_name,
        active=model.active,
        **{name: price_text(getattr(model, name)) for name in PRICE_FIELDS},
    )


def provider_cards(providers: list[Provider], models: list[Model], previous: list[ProviderCard]) -> list[ProviderCard]:
    checks = {card.id: card for card in previous if card.checked}
    cards = []
    for provider in providers:
        own = sorted((m for m in models if m.provider_id == provider.id), key=lambda m: m.name)
        card = ProviderCard(
            id=provider.id,
            name=provider.name,
            kind=provider.kind,
            base_url=provider.base_url,
            configured=provider.configured,
            credential_last4=provider.credential_last4 or "",
            model_count=provider.model_count,
            active_model_count=provider.active_model_count,
            models=[model_row(m) for m in own],
        )
        if provider.id in checks:
            last = checks[provider.id]
            card.checked, card.check_ok, card.check_message = True, last.check_ok, last.check_message
        cards.append(card)
    return cards


def find_card(cards: Sequence[ProviderCard], provider_id: int) -> ProviderCard | None:
    return next((card for card in cards if card.id == provider_id), None)


def form_prices(form: dict[str, Any]) -> dict[str, str | None]:
    """Prices as typed in a form, for the API to check (it parses numbers and says which field is wrong, together
    with every other field's problem): empty means unknown (null)."""
    prices: dict[str, str | None] = {}
    for name in PRICE_FIELDS:
        raw = str(form.get(name, "")).strip()
        prices[name] = None if raw in {"", UNKNOWN_PRICE} else raw
    return prices


class ProvidersState(rx.State):
    providers: list[ProviderCard] = rx.field(default_factory=list)
    loading: bool = True
    busy_provider_id: int = 0  # a provider whose connection test is running
    busy_action: str = ""

    @rx.event
    async def load(self) -> AsyncIterator[UiEvent]:
        auth = await self.get_state(AuthState)
        if auth.user_role not in (
            "admin",
            "auditor",
        ):  # the page shows the admins-only notice; the API would refuse anyway
            return
        api = await session_api(self)
        try:
            providers, models = await asyncio.gather(api.providers.list(), api.models.list())
        except ApiError as exc:
            self.loading = False
            yield failure_event(exc, "Could not load providers")
            return
        self.providers = provider_cards(providers, models, self.providers)
        self.loading = False

    async def _call(
        self, action: str, call: Callable[[UserApi], Awaitable[Answer]], success: str | None
    ) -> tuple[Answer | None, UiEvent]:
        """Run one API call: its answer (None when it failed) and the toast that tells how it went."""
        api = await session_api(self)
        try:
            answer = await call(api)
        except ApiError as exc:
            return None, failure_event(exc, action)
        return answer, (rx.toast.success(success) if success else None)

    @rx.event
    async def set_model_active(self, model_id: int, active: bool) -> AsyncIterator[UiEvent]:
        verb = "activated" if active else "deactivated"
        _answer, outcome = await self._call(
            "Could not change the model",
            lambda api: api.models.set_active(model_id, bool(active)),
            f"Model {verb}",
        )
        yield outcome
        async for update in self.load():
            yield update

    @rx.event
    async def check_connection(self, provider_id: int) -> AsyncIterator[UiEvent]:
        self.busy_provider_id, self.busy_action = provider_id, "test"
        yield
        check, outcome = await self._call(
            "Could not test the connection", lambda api: api.providers.check_connection(provider_id), None
        )
        self.busy_provider_id, self.busy_action = 0, ""
        card = find_card(self.providers, provider_id)
        if check is not None and card is not None:
            card.checked, card.check_ok, card.check_message = True, check.ok, check.message
            self.providers = list(self.providers)
        if outcome is not None:
            yield outcome
