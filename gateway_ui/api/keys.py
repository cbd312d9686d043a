"""API keys: list, create (the only answer that carries a key's secret) and revoke."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway_ui.api.schema import ApiModel

if TYPE_CHECKING:
    from gateway_ui.api.client import UserApi

LLM_SCOPE = "llm"
# Automation on the REST API (never the proxy); `ui` keys are browser sessions and come from signing in.
API_SCOPE = "api"


class ApiKey(ApiModel):
    id: int
    name: str
    user_email: str
    prefix: str
    scopes: list[str]
    status: str
    created_at: str
    last_used_at: str | None
    expires_at: str | None


class NewApiKey(ApiKey):
    secret: str


class KeysApi:
    def __init__(self, user: UserApi) -> None:
        self._user = user

    async def list(self, *, all_users: bool = False, include_inactive: bool = False) -> list[ApiKey]:
        """Your keys (admins: everyone's with `all_users`); revoked and expired ones only when asked."""
        params = {"all": all_users, "include_inactive": include_inactive}
        return ApiKey.list_from(await self._user.call("GET", "/api/keys", params=params))

    async def create(self, name: str, expires_in_days: int | None, scope: str = LLM_SCOPE) -> NewApiKey:
        """A new key (None: it never expires; scope llm or api); the answer is the only time its secret is seen."""
        expiry: dict[str, Any] = (
            {"no_expiration": True} if expires_in_days is None else {"expires_in_days": expires_in_days}
        )
        body = {"name": name, "scope": scope, **expiry}
        return NewApiKey.model_validate(await self._user.call("POST", "/api/keys", json=body))

    async def revoke(self, key_id: int) -> ApiKey:
        return ApiKey.model_validate(await self._user.call("DELETE", f"/api/keys/{key_id}"))
