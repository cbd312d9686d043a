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

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message

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


async def _request(
    method: str, path: str, *, token: str | None = None, json: Any = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(
        base_url=api_base_url(), timeout=REQUEST_TIMEOUT_SECONDS
    ) as client:
        try:
            response = await client.request(method, path, headers=headers, json=json)
        except httpx.HTTPError as exc:
            raise ApiError(503, f"The gateway API is unreachable ({type(exc).__name__}).") from exc
    if response.is_error:
        raise ApiError(response.status_code, _error_message(response))
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


async def login(email: str, password: str) -> str:
    """Exchange email and password for a UI session token."""
    body = await _request("POST", "/api/auth/login", json={"email": email, "password": password})
    return str(body["token"])


async def current_user(token: str) -> CurrentUser:
    """Who the token belongs to; raises ApiError(401) when it is missing, expired or revoked."""
    body = await _request("GET", "/api/me", token=token)
    return CurrentUser(email=str(body["email"]), role=str(body["role"]))


async def logout(token: str) -> None:
    """Revoke the session token on the server, so a copied token stops working too."""
    await _request("POST", "/api/auth/logout", token=token)
