"""`gateway login` and `gateway logout` against a gateway's REST API: the saved key while it works, else a password
or single sign-on (browser with a loopback redirect, or a code confirmed in any browser)."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from gateway_api.cli import keystore, sso_client
from gateway_api.cli.api_calls import call, detail_of
from gateway_api.cli.terminal import ask, ask_secret, can_prompt, fail, say

TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class LoginRequest:
    url: str
    scope: str
    email: str | None
    no_expiration: bool
    name: str
    new: bool
    no_browser: bool


def default_key_name(now: datetime | None = None) -> str:
    """Where and when: `CLI on alice-laptop 2026-12-03 14.05 UTC`, so the API Keys page tells keys apart."""
    host = re.sub(r"[^A-Za-z0-9.-]", "-", platform.node() or "unknown-host")[:60].strip("-.") or "unknown-host"
    return f"CLI on {host} {(now or datetime.now(UTC)).strftime('%Y-%m-%d %H.%M')} UTC"


def still_valid(client: httpx.Client, saved: keystore.SavedKey) -> bool:
    response = call(client, "GET", "/api/auth/key", headers={"Authorization": f"Bearer {saved.key}"})
    return response.status_code == 200


def login(request: LoginRequest) -> tuple[str, bool]:
    """The key to print, and whether it is the saved one."""
    url = keystore.normalise_url(request.url)
    with httpx.Client(base_url=url, timeout=TIMEOUT_SECONDS) as client:
        saved = None if request.new else keystore.load_key(url, request.scope)
        usable = saved and not saved.expires_soon() and not (request.no_expiration and saved.expires_at)
        if saved and usable and still_valid(client, saved):
            return saved.key, True
        answer = _sign_in(client, request)
    key = str(answer["token"])
    expires = answer.get("expires_at")
    keystore.save_key(
        keystore.SavedKey(url=url, scope=request.scope, key=key, key_id=int(answer["key_id"]), expires_at=expires)
    )
    return key, False


def _sign_in(client: httpx.Client, request: LoginRequest) -> dict[str, Any]:
    wish = {"scope": request.scope, "name": request.name, "no_expiration": request.no_expiration}
    email = request.email or os.environ.get("GATEWAY_EMAIL")
    password = os.environ.get("GATEWAY_PASSWORD")
    if not (email or password) and _sso_enabled(client):
        return sso_client.sign_in(client, wish, no_browser=request.no_browser)
    if not email or not password:
        if not can_prompt():
            raise fail(
                "no terminal to ask for your email and password: set GATEWAY_EMAIL and GATEWAY_PASSWORD "
                "(or pass --email and set GATEWAY_PASSWORD)",
                2,
            )
        email = email or ask("Email")
        password = password or ask_secret("Password")
    response = call(client, "POST", "/api/auth/login", json={"email": email, "password": password, **wish})
    if response.status_code != 200:
        raise fail(f"login failed ({response.status_code}): {detail_of(response)}")
    return dict(response.json())


def _sso_enabled(client: httpx.Client) -> bool:
    response = call(client, "GET", "/api/auth/methods")
    # A gateway from before single sign-on has no such endpoint: it signs in with passwords.
    return response.status_code == 200 and bool(response.json().get("sso"))


def logout(url: str, scopes: list[str]) -> list[str]:
    """Revoke the saved keys of `url` (each at the gateway, then locally); returns what happened to each."""
    url = keystore.normalise_url(url)
    outcomes = []
    with httpx.Client(base_url=url, timeout=TIMEOUT_SECONDS) as client:
        for saved in [s for s in (keystore.load_key(url, scope) for scope in scopes) if s is not None]:
            response = call(client, "DELETE", "/api/auth/key", headers={"Authorization": f"Bearer {saved.key}"})
            if response.status_code not in (204, 401):
                raise fail(
                    f"the gateway did not revoke key {saved.key_id} ({response.status_code}): {detail_of(response)}"
                )
            state = "revoked" if response.status_code == 204 else "had already expired or been revoked"
            keystore.forget_keys(url, [saved.scope])
            outcomes.append(f"{saved.scope} key {saved.key_id} {state}")
    return outcomes


def describe_saved(url: str, scope: str) -> str:
    saved = keystore.load_key(url, scope)
    expiry = f"expires {saved.expires_at[:16].replace('T', ' ')} UTC" if saved and saved.expires_at else "never expires"
    return f"{expiry}; saved in {keystore.store_path()}"


__all__ = ["LoginRequest", "default_key_name", "describe_saved", "login", "logout", "say"]
