"""Model Providers page state: providers with their models, credential (write-only), checks, imports, prices."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from gateway_ui import api_client
from gateway_ui.state.api_session import failure_event, session_token
from gateway_ui.state.auth import AuthState

PRICE_FIELDS = ("price_input", "price_output", "price_cache_read", "price_cache_write")
UNKNOWN_PRICE = "-"


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


def model_row(model: dict[str, Any]) -> ModelRow:
    return ModelRow(
        id=int(model["id"]),
        name=str(model["name"]),
        display_name=str(model["display_name"]),
        active=bool(model["active"]),
        **{name: price_text(model[name]) for name in PRICE_FIELDS},
    )


def provider_cards(
    providers: list[dict[str, Any]], models: list[dict[str, Any]], previous: list[ProviderCard]
) -> list[ProviderCard]:
    checks = {card.id: card for card in previous if card.checked}
    cards = []
    for provider in providers:
        provider_id = int(provider["id"])
        own = sorted((m for m in models if int(m["provider_id"]) == provider_id), key=lambda m: str(m["name"]))
        card = ProviderCard(
            id=provider_id,
            name=str(provider["name"]),
            kind=str(provider["kind"]),
            base_url=str(provider["base_url"]),
            configured=bool(provider["configured"]),
            credential_last4=str(provider["credential_last4"] or ""),
            model_count=int(provider["model_count"]),
            active_model_count=int(provider["active_model_count"]),
            models=[model_row(m) for m in own],
        )
        if provider_id in checks:
            last = checks[provider_id]
            card.checked, card.check_ok, card.check_message = True, last.check_ok, last.check_message
        cards.append(card)
    return cards


def parse_prices(form: dict[str, Any]) -> tuple[dict[str, float | None], dict[str, str]]:
    """Prices typed in a form: empty means unknown (null); anything else must be a number >= 0."""
    prices: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    for name in PRICE_FIELDS:
        raw = str(form.get(name, "")).strip()
        if raw in {"", UNKNOWN_PRICE}:
            prices[name] = None
            continue
        try:
            prices[name] = float(raw)
        except ValueError:
            errors[name] = "must be a number (USD per million tokens), or empty for unknown"
    return prices, errors


class ProvidersState(rx.State):
    providers: list[ProviderCard] = rx.field(default_factory=list)
    loading: bool = True
    busy_provider_id: int = 0  # a provider whose test / import is running
    busy_action: str = ""

    # Dialogs: one of each on the page, aimed at a provider or model by id (0: closed).
    create_open: bool = False
    credential_provider_id: int = 0
    base_url_provider_id: int = 0
    add_model_provider_id: int = 0
    price_model_id: int = 0
    dialog_subject: str = ""  # the provider or model name the open dialog is about
    dialog_value: str = ""  # the current base URL, for its edit dialog
    price_defaults: dict[str, str] = rx.field(default_factory=dict)
    form_errors: dict[str, str] = rx.field(default_factory=dict)
    saving: bool = False

    confirm_action: str = ""  # remove_credential | delete_provider | delete_model
    confirm_target_id: int = 0
    confirm_title: str = ""
    confirm_text: str = ""

    # -- loading --------------------------------------------------------------------------------------

    @rx.event
    async def load(self):
        auth = await self.get_state(AuthState)
        if auth.user_role != "admin":  # the page shows the admins-only notice; the API would refuse anyway
            return
        token = auth.token
        try:
            providers, models = await asyncio.gather(api_client.list_providers(token), api_client.list_models(token))
        except api_client.ApiError as exc:
            self.loading = False
            yield failure_event(exc, "Could not load providers")
            return
        self.providers = provider_cards(providers, models, self.providers)
        self.loading = False

    async def _call(self, action: str, call, success: str | None):
        """Run one API call; toast the outcome; reload the list on success. Returns the answer or None."""
        token = await session_token(self)
        try:
            answer = await call(token)
        except api_client.ApiError as exc:
            return None, failure_event(exc, action)
        return answer, (rx.toast.success(success) if success else None)

    # -- create provider ------------------------------------------------------------------------------

    @rx.event
    def open_create(self) -> None:
        self.form_errors = {}
        self.create_open = True

    @rx.event
    def close_dialogs(self) -> None:
        self.create_open = False
        self.credential_provider_id = self.base_url_provider_id = 0
        self.add_model_provider_id = self.price_model_id = 0
        self.form_errors = {}
        self.saving = False

    async def _submit(self, action: str, call, success: str):
        """Shared by every dialog form: field errors stay in the dialog, success closes it and reloads."""
        self.saving = True
        self.form_errors = {}
        yield
        token = await session_token(self)
        try:
            await call(token)
        except api_client.ApiError as exc:
            self.saving = False
            if exc.field_errors:
                self.form_errors = exc.field_errors
            else:
                self.form_errors = {"form": exc.message}
            if exc.is_unauthorized:
                yield failure_event(exc, action)
            return
        self.close_dialogs()
        yield rx.toast.success(success)
        async for update in self.load():
            yield update

    @rx.event
    async def submit_create(self, form: dict[str, Any]):
        fields = {
            "name": str(form.get("name", "")).strip(),
            "kind": str(form.get("kind", "")),
            "base_url": str(form.get("base_url", "")).strip() or None,
            "credential": str(form.get("credential", "")).strip() or None,
        }
        name = fields["name"]
        async for update in self._submit(
            "Could not add the provider",
            lambda token: api_client.create_provider(token, fields),
            f'Provider "{name}" added',
        ):
            yield update

    # -- credential and base URL ----------------------------------------------------------------------

    def _card(self, provider_id: int) -> ProviderCard | None:
        return next((card for card in self.providers if card.id == provider_id), None)

    @rx.event
    def open_credential(self, provider_id: int) -> None:
        card = self._card(provider_id)
        self.form_errors = {}
        self.dialog_subject = card.name if card else ""
        self.credential_provider_id = provider_id

    @rx.event
    async def submit_credential(self, form: dict[str, Any]):
        provider_id = self.credential_provider_id
        credential = str(form.get("credential", "")).strip()
        if not credential:
            self.form_errors = {"credential": "credential: enter the provider's API key"}
            return
        async for update in self._submit(
            "Could not save the credential",
            lambda token: api_client.update_provider(token, provider_id, {"credential": credential}),
            "Credential saved",
        ):
            yield update

    @rx.event
    def open_base_url(self, provider_id: int) -> None:
        card = self._card(provider_id)
        self.form_errors = {}
        self.dialog_subject = card.name if card else ""
        self.dialog_value = card.base_url if card else ""
        self.base_url_provider_id = provider_id

    @rx.event
    async def submit_base_url(self, form: dict[str, Any]):
        provider_id = self.base_url_provider_id
        base_url = str(form.get("base_url", "")).strip()
        async for update in self._submit(
            "Could not change the base URL",
            lambda token: api_client.update_provider(token, provider_id, {"base_url": base_url}),
            "Base URL saved",
        ):
            yield update

    # -- models ---------------------------------------------------------------------------------------

    @rx.event
    def open_add_model(self, provider_id: int) -> None:
        card = self._card(provider_id)
        self.form_errors = {}
        self.dialog_subject = card.name if card else ""
        self.add_model_provider_id = provider_id

    @rx.event
    async def submit_add_model(self, form: dict[str, Any]):
        prices, errors = parse_prices(form)
        if errors:
            self.form_errors = errors
            return
        fields = {
            "provider_id": self.add_model_provider_id,
            "name": str(form.get("name", "")).strip(),
            "display_name": str(form.get("display_name", "")).strip() or None,
            "active": form.get("active") in {"on", True, "true"},
            **prices,
        }
        name = fields["name"]
        async for update in self._submit(
            "Could not add the model",
            lambda token: api_client.create_model(token, fields),
            f'Model "{name}" added',
        ):
            yield update

    @rx.event
    def open_prices(self, provider_id: int, model_id: int) -> None:
        card = self._card(provider_id)
        model = next((m for m in card.models if m.id == model_id), None) if card else None
        if model is None:
            return
        self.form_errors = {}
        self.dialog_subject = model.name
        self.price_defaults = {
            name: "" if getattr(model, name) == UNKNOWN_PRICE else getattr(model, name) for name in PRICE_FIELDS
        }
        self.price_model_id = model_id

    @rx.event
    async def submit_prices(self, form: dict[str, Any]):
        prices, errors = parse_prices(form)
        if errors:
            self.form_errors = errors
            return
        model_id, name = self.price_model_id, self.dialog_subject
        async for update in self._submit(
            "Could not save the prices",
            lambda token: api_client.update_model(token, model_id, prices),
            f'Prices of "{name}" saved',
        ):
            yield update

    @rx.event
    async def set_model_active(self, model_id: int, active: bool):
        verb = "activated" if active else "deactivated"
        _answer, outcome = await self._call(
            "Could not change the model",
            lambda token: api_client.update_model(token, model_id, {"active": bool(active)}),
            f"Model {verb}",
        )
        yield outcome
        async for update in self.load():
            yield update

    # -- connection test and import -------------------------------------------------------------------

    @rx.event
    async def check_connection(self, provider_id: int):
        self.busy_provider_id, self.busy_action = provider_id, "test"
        yield
        answer, outcome = await self._call(
            "Could not test the connection",
            lambda token: api_client.check_provider_connection(token, provider_id),
            None,
        )
        self.busy_provider_id, self.busy_action = 0, ""
        card = self._card(provider_id)
        if answer is not None and card is not None:
            card.checked, card.check_ok, card.check_message = True, bool(answer["ok"]), str(answer["message"])
            self.providers = list(self.providers)
        if outcome is not None:
            yield outcome

    @rx.event
    async def import_models(self, provider_id: int):
        self.busy_provider_id, self.busy_action = provider_id, "import"
        yield
        answer, outcome = await self._call(
            "Could not import models", lambda token: api_client.import_provider_models(token, provider_id), None
        )
        self.busy_provider_id, self.busy_action = 0, ""
        if answer is not None:
            added, skipped = len(answer["added"]), len(answer["skipped"])
            outcome = rx.toast.success(
                f"Imported {added} new model{'s' if added != 1 else ''} (inactive until you switch them on); "
                f"{skipped} already present"
            )
        yield outcome
        async for update in self.load():
            yield update

    # -- confirmations --------------------------------------------------------------------------------

    @rx.event
    def ask(self, action: str, target_id: int, subject: str) -> None:
        texts = {
            "remove_credential": (
                "Remove the credential?",
                f'Calls to "{subject}" models fail until a new credential is set.',
            ),
            "delete_provider": (
                "Delete this provider?",
                f'"{subject}" and all of its models are removed. Usage history stays.',
            ),
            "delete_model": ("Delete this model?", f'"{subject}" can no longer be called. Usage history stays.'),
        }
        if action not in texts:
            return
        self.confirm_action, self.confirm_target_id = action, target_id
        self.confirm_title, self.confirm_text = texts[action]

    @rx.event
    def cancel_confirm(self) -> None:
        self.confirm_action, self.confirm_target_id = "", 0

    @rx.event
    async def confirm(self):
        action, target = self.confirm_action, self.confirm_target_id
        calls = {
            "remove_credential": (
                lambda token: api_client.update_provider(token, target, {"credential": None}),
                "Credential removed",
            ),
            "delete_provider": (lambda token: api_client.delete_provider(token, target), "Provider deleted"),
            "delete_model": (lambda token: api_client.delete_model(token, target), "Model deleted"),
        }
        if action not in calls:
            return
        self.saving = True
        yield
        call, success = calls[action]
        _answer, outcome = await self._call("Could not do that", call, success)
        self.saving = False
        self.cancel_confirm()
        yield outcome
        async for update in self.load():
            yield update
