"""The Model Providers page's dialogs: one form open at a time (add provider, credential, base URL, add model,
prices) and the confirmations (remove a credential, delete a provider or a model). Each success reloads the list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import reflex as rx

from gateway_ui.api import ApiError, UserApi
from gateway_ui.api.providers import ImportedModels, Provider
from gateway_ui.state.api_session import UiEvent, session_api
from gateway_ui.state.base import ConfirmState, FormState
from gateway_ui.state.providers import PRICE_FIELDS, UNKNOWN_PRICE, ProvidersState, find_card, form_prices

CREATE_PROVIDER = "create_provider"
CREDENTIAL = "credential"
BASE_URL = "base_url"
ADD_MODEL = "add_model"
PRICES = "prices"
IMPORT = "import"

REMOVE_CREDENTIAL = "remove_credential"
DELETE_PROVIDER = "delete_provider"
DELETE_MODEL = "delete_model"


Answer = TypeVar("Answer")


def _models(count: int) -> str:
    return f"{count} model{'' if count == 1 else 's'}"


def base_url_saved(provider: Provider) -> str:
    if provider.credential_cleared:
        return "Base URL saved. The credential was removed: it belongs to the old host. Enter the API key again."
    return "Base URL saved"


def import_summary(imported: ImportedModels, activated: bool) -> str:
    """What an import did, in one line: how many models came, whether they can be called, what was there."""
    added = len(imported.added)
    if added == 0:
        parts = ["No new models: the provider lists none the gateway does not have"]
    elif activated:
        parts = [f"Imported {_models(added)}, active now (a policy still decides who may call them)"]
    else:
        parts = [f"Imported {_models(added)}, inactive until you switch them on"]
    if imported.skipped:
        parts.append(f"{_models(len(imported.skipped))} already present")
    if imported.named:
        parts.append(f"{_models(len(imported.named))} took the provider's display name")
    return "; ".join(parts)


@dataclass(frozen=True)
class Confirmation:
    title: str
    text: str  # with {subject}: the provider's or model's name
    done: str


CONFIRMATIONS = {
    REMOVE_CREDENTIAL: Confirmation(
        "Remove the credential?",
        'Calls to "{subject}" models fail until a new credential is set.',
        "Credential removed",
    ),
    DELETE_PROVIDER: Confirmation(
        "Delete this provider?",
        '"{subject}" and all of its models are removed. Usage history stays.',
        "Provider deleted",
    ),
    DELETE_MODEL: Confirmation(
        "Delete this model?", '"{subject}" can no longer be called. Usage history stays.', "Model deleted"
    ),
}


class ProviderDialogsState(FormState, ConfirmState, rx.State):
    form_kind: str = ""  # which form is open: CREATE_PROVIDER, CREDENTIAL, BASE_URL, ADD_MODEL or PRICES
    target_id: int = 0  # the provider the form is about (for PRICES: the model)
    dialog_subject: str = ""  # its name
    dialog_value: str = ""  # the current base URL, for its edit dialog
    price_defaults: dict[str, str] = rx.field(default_factory=dict)

    confirm_action: str = ""  # REMOVE_CREDENTIAL, DELETE_PROVIDER or DELETE_MODEL
    confirm_title: str = ""
    confirm_text: str = ""
    confirm_failure: ClassVar[str] = "Could not do that"

    # -- opening a form -------------------------------------------------------------------------------

    def _open(self, kind: str, target_id: int, subject: str) -> None:
        self.form_kind, self.target_id, self.dialog_subject = kind, target_id, subject
        self._open_form()

    async def _provider_name(self, provider_id: int) -> str:
        providers = await self.get_state(ProvidersState)
        card = find_card(providers.providers, provider_id)
        return card.name if card else ""

    @rx.event
    def open_create(self) -> None:
        self._open(CREATE_PROVIDER, 0, "")

    @rx.event
    async def open_credential(self, provider_id: int) -> None:
        self._open(CREDENTIAL, provider_id, await self._provider_name(provider_id))

    @rx.event
    async def open_base_url(self, provider_id: int) -> None:
        providers = await self.get_state(ProvidersState)
        card = find_card(providers.providers, provider_id)
        self.dialog_value = card.base_url if card else ""
        self._open(BASE_URL, provider_id, card.name if card else "")

    @rx.event
    async def open_add_model(self, provider_id: int) -> None:
        self._open(ADD_MODEL, provider_id, await self._provider_name(provider_id))

    @rx.event
    async def open_prices(self, provider_id: int, model_id: int) -> None:
        providers = await self.get_state(ProvidersState)
        card = find_card(providers.providers, provider_id)
        model = next((m for m in card.models if m.id == model_id), None) if card else None
        if model is None:
            return
        self.price_defaults = {
            name: "" if getattr(model, name) == UNKNOWN_PRICE else getattr(model, name) for name in PRICE_FIELDS
        }
        self._open(PRICES, model_id, model.name)

    # -- submitting a form ----------------------------------------------------------------------------

    async def _submit(
        self, call: Callable[[UserApi], Awaitable[Answer]], success: Callable[[Answer], str], conflict_field: str = ""
    ) -> AsyncIterator[UiEvent]:
        """Every form's submit: the API's messages stay in the dialog, success closes it and reloads the list."""
        self._start_submit()
        yield
        api = await session_api(self)
        try:
            answer = await call(api)
        except ApiError as exc:
            yield self._form_failed(exc, conflict_field=conflict_field)
            return
        finally:
            self.submitting = False
        self.close_form()
        yield rx.toast.success(success(answer))
        yield ProvidersState.load

    @rx.event
    async def submit_create(self, form: dict[str, Any]) -> AsyncIterator[UiEvent]:
        name = str(form.get("name", "")).strip()
        kind = str(form.get("kind", ""))
        base_url = str(form.get("base_url", "")).strip() or None
        credential = str(form.get("credential", "")).strip() or None
        async for update in self._submit(
            lambda api: api.providers.create(name=name, kind=kind, base_url=base_url, credential=credential),
            lambda _provider: f'Provider "{name}" added',
            conflict_field="name",
        ):
            yield update

    @rx.event
    async def submit_credential(self, form: dict[str, Any]) -> AsyncIterator[UiEvent]:
        provider_id = self.target_id
        credential = str(form.get("credential", "")).strip()
        if not credential:
            self._set_field_errors({"credential": "paste the provider's API key"})
            return
        async for update in self._submit(
            lambda api: api.providers.set_credential(provider_id, credential), lambda _provider: "Credential saved"
        ):
            yield update

    @rx.event
    async def submit_base_url(self, form: dict[str, Any]) -> AsyncIterator[UiEvent]:
        provider_id = self.target_id
        base_url = str(form.get("base_url", "")).strip()
        credential = str(form.get("credential", "")).strip() or None
        async for update in self._submit(
            lambda api: api.providers.set_base_url(provider_id, base_url, credential), base_url_saved
        ):
            yield update

    @rx.event
    async def submit_add_model(self, form: dict[str, Any]) -> AsyncIterator[UiEvent]:
        prices = form_prices(form)
        name = str(form.get("name", "")).strip()
        provider_id = self.target_id
        display_name = str(form.get("display_name", "")).strip() or None
        active = form.get("active") in {"on", True, "true"}
        async for update in self._submit(
            lambda api: api.models.create(
                provider_id=provider_id, name=name, display_name=display_name, active=active, prices=prices
            ),
            lambda _model: f'Model "{name}" added',
            conflict_field="name",
        ):
            yield update

    @rx.event
    async def submit_prices(self, form: dict[str, Any]) -> AsyncIterator[UiEvent]:
        prices = form_prices(form)
        model_id, name = self.target_id, self.dialog_subject
        async for update in self._submit(
            lambda api: api.models.set_prices(model_id, prices), lambda _model: f'Prices of "{name}" saved'
        ):
            yield update

    @rx.event
    async def open_import(self, provider_id: int) -> None:
        self._open(IMPORT, provider_id, await self._provider_name(provider_id))

    @rx.event
    async def submit_import(self, form: dict[str, Any]) -> AsyncIterator[UiEvent]:
        provider_id = self.target_id
        activate = form.get("activate") in {"on", True, "true"}
        async for update in self._submit(
            lambda api: api.providers.import_models(provider_id, activate=activate),
            lambda imported: import_summary(imported, activate),
        ):
            yield update

    # -- confirmations --------------------------------------------------------------------------------

    @rx.event
    def ask(self, action: str, target_id: int, subject: str) -> None:
        confirmation = CONFIRMATIONS.get(action)
        if confirmation is None:
            return
        self._ask_confirm(target_id, subject)
        self.confirm_action = action
        self.confirm_title, self.confirm_text = confirmation.title, confirmation.text.format(subject=subject)

    async def _confirmed(self, item_id: int, name: str) -> list[UiEvent]:
        api = await session_api(self)
        if self.confirm_action == REMOVE_CREDENTIAL:
            await api.providers.set_credential(item_id, None)
        elif self.confirm_action == DELETE_PROVIDER:
            await api.providers.delete(item_id)
        else:
            await api.models.delete(item_id)
        return [rx.toast.success(CONFIRMATIONS[self.confirm_action].done), ProvidersState.load]
