"""Every call the UI makes to the gateway REST API goes through this module.

The UI backend runs in the same process as the API, but still talks to it over HTTP so the UI
only ever sees what any other API client sees (same auth, same validation, same errors).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

API_URL_ENV = "GATEWAY_UI_API_URL"
DEFAULT_API_URL = "http://127.0.0.1:8080"
REQUEST_TIMEOUT_SECONDS = 15.0


class ApiError(Exception):
    """The API answered with an error; `message` is the API's own text, fit to show a user."""

    def __init__(self, status_code: int, message: str, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        # Validation failures by request field ("email", "groups"), so forms can show each next to its input.
        self.field_errors = field_errors or {}

    @property
    def is_unauthorized(self) -> bool:
        return self.status_code == 401


@dataclass(frozen=True)
class CurrentUser:
    email: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def api_base_url() -> str:
    """Where the REST API lives: the same server as the UI unless the environment says otherwise."""
    return os.environ.get(API_URL_ENV, DEFAULT_API_URL).rstrip("/")


def _error_message(response: httpx.Response) -> str:
    """Pull the human-readable message out of an error body (FastAPI `detail` or an `error` envelope)."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list) and detail and isinstance(detail[0], dict):
            return str(detail[0].get("msg", detail[0]))
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
    return f"HTTP {response.status_code}"


def _field_errors(response: httpx.Response) -> dict[str, str]:
    """Each 422 entry keyed by the field it names (`loc` minus its "body"/"query" prefix); first message wins."""
    try:
        body: Any = response.json()
    except ValueError:
        return {}
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, list):
        return {}
    errors: dict[str, str] = {}
    for entry in detail:
        loc = entry.get("loc") if isinstance(entry, dict) else None
        if isinstance(loc, list) and len(loc) > 1:
            errors.setdefault(str(loc[1]), str(entry.get("msg", "invalid")))
    return errors


async def _request(
    method: str,
    path: str,
    *,
    token: str | None = None,
    json: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=api_base_url(), timeout=REQUEST_TIMEOUT_SECONDS) as client:
        try:
            response = await client.request(method, path, headers=headers, json=json, params=params)
        except httpx.HTTPError as exc:
            raise ApiError(503, f"The gateway API is unreachable ({type(exc).__name__}).") from exc
    if response.is_error:
        raise ApiError(response.status_code, _error_message(response), _field_errors(response))
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


async def login(email: str, password: str, client_ip: str = "") -> str:
    """Exchange email and password for a UI session token.

    ``client_ip`` is the browser's address: the API trusts X-Forwarded-For from this loopback caller, so failed
    sign-ins are throttled per browser rather than for everyone behind the UI server.
    """
    forwarded = {"X-Forwarded-For": client_ip} if client_ip else None
    body = await _request("POST", "/api/auth/login", json={"email": email, "password": password}, headers=forwarded)
    return str(body["token"])


async def current_user(token: str) -> CurrentUser:
    """Who the token belongs to; raises ApiError(401) when it is missing, expired or revoked."""
    body = await _request("GET", "/api/me", token=token)
    return CurrentUser(email=str(body["email"]), role=str(body["role"]))


async def logout(token: str) -> None:
    """Revoke the session token on the server, so a copied token stops working too."""
    await _request("POST", "/api/auth/logout", token=token)


# -- Models page -------------------------------------------------------------------------------------


async def my_models(token: str) -> dict[str, Any]:
    """`{"public_url", "providers": [{"kind", "base_url", "models": [{"name", "display_name", ...}]}]}`."""
    return await _request("GET", "/api/me/models", token=token)


# -- API keys ----------------------------------------------------------------------------------------


async def list_keys(token: str, *, all_users: bool = False, include_inactive: bool = False) -> list[dict[str, Any]]:
    """Your keys (admins: everyone's with `all_users`); revoked and expired ones only when asked."""
    params = {"all": all_users, "include_inactive": include_inactive}
    body = await _request("GET", "/api/keys", token=token, params=params)
    return list(body["data"])


async def create_key(token: str, name: str, expires_in_days: int | None) -> dict[str, Any]:
    """A new llm key; the answer's `secret` is the only time the key itself is ever seen."""
    expiry: dict[str, Any] = (
        {"no_expiration": True} if expires_in_days is None else {"expires_in_days": expires_in_days}
    )
    return await _request("POST", "/api/keys", token=token, json={"name": name, "scope": "llm", **expiry})


async def revoke_key(token: str, key_id: int) -> dict[str, Any]:
    return await _request("DELETE", f"/api/keys/{key_id}", token=token)


# -- Usage limits ------------------------------------------------------------------------------------


async def get_user_limits(token: str, user_id: int) -> dict[str, Any]:
    """`{"overrides": {field: value | None}, "effective": [{"kind", "limit", "source"}], ...}` (admins)."""
    return await _request("GET", f"/api/users/{user_id}/limits", token=token)


async def set_user_limits(token: str, user_id: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """Replace a user's overrides; a None field inherits. Answers like `get_user_limits`."""
    return await _request("PUT", f"/api/users/{user_id}/limits", token=token, json=overrides)


async def get_key_limits(token: str, key_id: int) -> dict[str, Any]:
    """A key's overrides and effective limits (its owner or an admin)."""
    return await _request("GET", f"/api/keys/{key_id}/limits", token=token)


async def set_key_limits(token: str, key_id: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """Replace a key's overrides (admins); a None field inherits from the key's user."""
    return await _request("PUT", f"/api/keys/{key_id}/limits", token=token, json=overrides)


# -- Users and groups (admin) ------------------------------------------------------------------------


async def list_users(token: str) -> list[dict[str, Any]]:
    body = await _request("GET", "/api/users", token=token)
    return list(body["data"])


async def create_user(token: str, fields: dict[str, Any]) -> dict[str, Any]:
    """`fields`: email, name, password (or None), role, groups."""
    return await _request("POST", "/api/users", token=token, json=fields)


async def update_user(token: str, user_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """`changes`: any of name, role, active, groups, password."""
    return await _request("PATCH", f"/api/users/{user_id}", token=token, json=changes)


async def deactivate_user(token: str, user_id: int) -> dict[str, Any]:
    return await _request("DELETE", f"/api/users/{user_id}", token=token)


async def list_groups(token: str) -> list[dict[str, Any]]:
    body = await _request("GET", "/api/groups", token=token)
    return list(body["data"])


async def create_group(token: str, name: str) -> dict[str, Any]:
    return await _request("POST", "/api/groups", token=token, json={"name": name})


async def delete_group(token: str, group_id: int) -> dict[str, Any]:
    return await _request("DELETE", f"/api/groups/{group_id}", token=token)


# -- Token usage (admin: everyone; the API limits users to themselves) ------------------------------------
# `filters` are the API's usage filter parameters: start, end, user_ids, models, api_key_ids (lists repeat).

EXPORT_TIMEOUT_SECONDS = 120.0


async def usage_summary(token: str, filters: dict[str, Any]) -> dict[str, Any]:
    return await _request("GET", "/api/usage/summary", token=token, params=filters)


async def usage_timeseries(token: str, filters: dict[str, Any], bucket: str, group_by: str) -> dict[str, Any]:
    params = {**filters, "bucket": bucket, "group_by": group_by}
    return await _request("GET", "/api/usage/timeseries", token=token, params=params)


async def usage_breakdown(token: str, filters: dict[str, Any], by: str) -> list[dict[str, Any]]:
    body = await _request("GET", "/api/usage/breakdown", token=token, params={**filters, "by": by})
    return list(body["data"])


async def usage_filter_options(token: str, filters: dict[str, Any]) -> dict[str, Any]:
    """Users, models and keys that have usage in the filters' period."""
    return await _request("GET", "/api/usage/filters", token=token, params=filters)


async def usage_export_csv(token: str, filters: dict[str, Any]) -> bytes:
    """Every matching record as CSV bytes (fetched here, with the token, rather than by a bare browser link)."""
    async with httpx.AsyncClient(base_url=api_base_url(), timeout=EXPORT_TIMEOUT_SECONDS) as client:
        try:
            response = await client.get(
                "/api/usage/export.csv", headers={"Authorization": f"Bearer {token}"}, params=filters
            )
        except httpx.HTTPError as exc:
            raise ApiError(503, f"The gateway API is unreachable ({type(exc).__name__}).") from exc
    if response.is_error:
        raise ApiError(response.status_code, _error_message(response), _field_errors(response))
    return response.content


# -- Providers and their models (admin) ---------------------------------------------------------------


async def list_providers(token: str) -> list[dict[str, Any]]:
    body = await _request("GET", "/api/providers", token=token)
    return list(body["data"])


async def create_provider(token: str, fields: dict[str, Any]) -> dict[str, Any]:
    """`fields`: name, kind, base_url (None: the provider's public API), credential (None: none yet)."""
    return await _request("POST", "/api/providers", token=token, json=fields)


async def update_provider(token: str, provider_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """`changes`: any of name, base_url, credential (a string replaces it, None removes it)."""
    return await _request("PATCH", f"/api/providers/{provider_id}", token=token, json=changes)


async def delete_provider(token: str, provider_id: int) -> dict[str, Any]:
    return await _request("DELETE", f"/api/providers/{provider_id}", token=token)


async def check_provider_connection(token: str, provider_id: int) -> dict[str, Any]:
    """`{"ok", "message", "status_code", "models_found"}`: the check's outcome, not an HTTP error."""
    return await _request("POST", f"/api/providers/{provider_id}/test", token=token)


async def import_provider_models(token: str, provider_id: int) -> dict[str, Any]:
    """`{"added": [...], "skipped": [...]}`; new models start inactive."""
    return await _request("POST", f"/api/providers/{provider_id}/import-models", token=token)


async def list_models(token: str) -> list[dict[str, Any]]:
    body = await _request("GET", "/api/models", token=token)
    return list(body["data"])


async def create_model(token: str, fields: dict[str, Any]) -> dict[str, Any]:
    """`fields`: provider_id, name, display_name, active, price_* (None: the shipped price)."""
    return await _request("POST", "/api/models", token=token, json=fields)


async def update_model(token: str, model_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """`changes`: any of display_name, active, price_input, price_output, price_cache_read, price_cache_write."""
    return await _request("PATCH", f"/api/models/{model_id}", token=token, json=changes)


async def delete_model(token: str, model_id: int) -> dict[str, Any]:
    return await _request("DELETE", f"/api/models/{model_id}", token=token)


# -- Model access policies (admin) --------------------------------------------------------------------


async def list_policies(token: str) -> list[dict[str, Any]]:
    body = await _request("GET", "/api/policies", token=token)
    return list(body["data"])


async def create_policy(token: str, fields: dict[str, Any]) -> dict[str, Any]:
    """`fields`: name, subjects ("*", "user:EMAIL", "group:NAME"), models (names, "prefix*" or "*")."""
    return await _request("POST", "/api/policies", token=token, json=fields)


async def update_policy(token: str, policy_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    return await _request("PATCH", f"/api/policies/{policy_id}", token=token, json=changes)


async def delete_policy(token: str, policy_id: int) -> dict[str, Any]:
    return await _request("DELETE", f"/api/policies/{policy_id}", token=token)


async def preview_model_pattern(token: str, pattern: str) -> dict[str, Any]:
    """`{"pattern", "count", "active_count", "models": [...]}`: what the pattern matches right now."""
    return await _request("GET", "/api/policies/preview", token=token, params={"pattern": pattern})
