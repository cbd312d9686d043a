"""Upstream providers and the models they offer (admins)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from gateway_ui.api.schema import ApiModel

if TYPE_CHECKING:
    from gateway_ui.api.client import UserApi

# USD per million tokens by field (price_input, price_output, price_cache_read, price_cache_write), as numbers or
# as typed (the API parses them); None: unknown.
ModelPrices = Mapping[str, float | str | None]


class Provider(ApiModel):
    id: int
    name: str
    kind: str
    base_url: str
    configured: bool
    credential_last4: str | None
    model_count: int
    active_model_count: int
    # The change moved the provider to another host, so the API removed its credential (it is bound to its host).
    credential_cleared: bool = False


class ConnectionCheck(ApiModel):
    """A connection test's outcome; a failed test is an answer like this, not an HTTP error."""

    ok: bool
    message: str


class ImportedModels(ApiModel):
    added: list[str]  # new models start inactive unless the import activated them
    skipped: list[str]
    named: list[str]  # models already present that took the provider's display name


class Model(ApiModel):
    id: int
    provider_id: int
    name: str
    display_name: str
    active: bool
    price_input: float | None
    price_output: float | None
    price_cache_read: float | None
    price_cache_write: float | None


class ProvidersApi:
    def __init__(self, user: UserApi) -> None:
        self._user = user

    async def list(self) -> list[Provider]:
        return Provider.list_from(await self._user.call("GET", "/api/providers"))

    async def create(self, *, name: str, kind: str, base_url: str | None, credential: str | None) -> Provider:
        """base_url None: the provider's public API; credential None: none yet."""
        body = {"name": name, "kind": kind, "base_url": base_url, "credential": credential}
        return Provider.model_validate(await self._user.call("POST", "/api/providers", json=body))

    async def set_credential(self, provider_id: int, credential: str | None) -> Provider:
        """Replace the stored credential; None removes it."""
        return await self._update(provider_id, {"credential": credential})

    async def set_base_url(self, provider_id: int, base_url: str, credential: str | None = None) -> Provider:
        """Another host drops the stored credential unless `credential` brings the one for the new host."""
        changes = {"base_url": base_url} | ({"credential": credential} if credential else {})
        return await self._update(provider_id, changes)

    async def _update(self, provider_id: int, changes: Mapping[str, str | None]) -> Provider:
        return Provider.model_validate(await self._user.call("PATCH", f"/api/providers/{provider_id}", json=changes))

    async def delete(self, provider_id: int) -> Provider:
        return Provider.model_validate(await self._user.call("DELETE", f"/api/providers/{provider_id}"))

    async def check_connection(self, provider_id: int) -> ConnectionCheck:
        body = await self._user.call("POST", f"/api/providers/{provider_id}/test")
        return ConnectionCheck.model_validate(body)

    async def import_models(self, provider_id: int, *, activate: bool = False) -> ImportedModels:
        """Add the models the provider lists, with its display names; `activate`: callable at once."""
        body = await self._user.call("POST", f"/api/providers/{provider_id}/import-models", json={"activate": activate})
        return ImportedModels.model_validate(body)


class ModelsApi:
    def __init__(self, user: UserApi) -> None:
        self._user = user

    async def list(self) -> list[Model]:
        return Model.list_from(await self._user.call("GET", "/api/models"))

    async def create(
        self, *, provider_id: int, name: str, display_name: str | None, active: bool, prices: ModelPrices
    ) -> Model:
        """display_name None: the name itself; a None price: the shipped list price."""
        body = {"provider_id": provider_id, "name": name, "display_name": display_name, "active": active, **prices}
        return Model.model_validate(await self._user.call("POST", "/api/models", json=body))

    async def set_active(self, model_id: int, active: bool) -> Model:
        return await self._update(model_id, {"active": active})

    async def set_prices(self, model_id: int, prices: ModelPrices) -> Model:
        """Replace the prices; a None price becomes unknown."""
        return await self._update(model_id, prices)

    async def _update(self, model_id: int, changes: Mapping[str, bool | float | str | None]) -> Model:
        return Model.model_validate(await self._user.call("PATCH", f"/api/models/{model_id}", json=changes))

    async def delete(self, model_id: int) -> Model:
        return Model.model_validate(await self._user.call("DELETE", f"/api/models/{model_id}"))
