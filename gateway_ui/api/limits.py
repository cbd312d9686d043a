"""Usage-limit overrides of one user or one key, and the limits in force for it (admins edit; a key's owner reads)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from gateway_ui.api.schema import ApiModel

if TYPE_CHECKING:
    from gateway_ui.api.client import UserApi

# A field's override as typed into a form, sent as-is for the API to parse; None inherits.
LimitOverrides = Mapping[str, str | None]


class EffectiveLimit(ApiModel):
    kind: str
    limit: float | None  # None: unlimited
    source: str | None  # "key", "user" or the gateway default


class Limits(ApiModel):
    overrides: dict[str, float | None]
    effective: list[EffectiveLimit]
    token_window_hours: float


class LimitsApi:
    def __init__(self, user: UserApi) -> None:
        self._user = user

    async def of_user(self, user_id: int) -> Limits:
        """A user's overrides and effective limits (admins)."""
        return Limits.model_validate(await self._user.call("GET", f"/api/users/{user_id}/limits"))

    async def set_for_user(self, user_id: int, overrides: LimitOverrides) -> Limits:
        """Replace a user's overrides (admins)."""
        return Limits.model_validate(await self._user.call("PUT", f"/api/users/{user_id}/limits", json=overrides))

    async def of_key(self, key_id: int) -> Limits:
        """A key's overrides and effective limits (its owner or an admin)."""
        return Limits.model_validate(await self._user.call("GET", f"/api/keys/{key_id}/limits"))

    async def set_for_key(self, key_id: int, overrides: LimitOverrides) -> Limits:
        """Replace a key's overrides (admins); a None field inherits from the key's user."""
        return Limits.model_validate(await self._user.call("PUT", f"/api/keys/{key_id}/limits", json=overrides))
