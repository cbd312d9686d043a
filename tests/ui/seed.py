"""Set up gateway state for browser tests through the REST API, as an admin would (never the database)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.ui.conftest import UiServer
from tests.ui.test_login import sign_in


def unique_tag() -> str:
    """Names in the shared UI server must not collide with other test modules' (model names are global)."""
    return uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    password: str


class AdminApi:
    """An httpx client signed in as the UI server's first admin."""

    def __init__(self, ui_server: UiServer) -> None:
        self.url = ui_server.url
        token = login_token(ui_server.url, ui_server.admin_email, ui_server.admin_password)
        self.client = httpx.Client(base_url=ui_server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def close(self) -> None:
        self.client.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def create_provider(self, name: str, kind: str, base_url: str) -> int:
        body = {"name": name, "kind": kind, "base_url": base_url, "credential": f"sk-fake-{kind}-credential"}
        return int(self.call("POST", "/api/providers", json=body)["id"])

    def create_models(self, provider_id: int, names: Iterable[str]) -> None:
        for name in names:
            self.call("POST", "/api/models", json={"provider_id": provider_id, "name": name})

    def create_user(self, email: str, password: str, *, role: str = "user", name: str = "") -> Account:
        body = {"email": email, "password": password, "role": role, "name": name}
        return Account(id=int(self.call("POST", "/api/users", json=body)["id"]), email=email, password=password)

    def grant(self, policy_name: str, subject: str, models: list[str]) -> int:
        body = {"name": policy_name, "subjects": [subject], "models": models}
        return int(self.call("POST", "/api/policies", json=body)["id"])


def from_own_address(address: str) -> httpx.Client:
    """A client whose calls come from `address` (another loopback address, e.g. 127.0.0.3). The proxy throttles
    failed key guesses per client address and, while throttled, refuses even a key issued a moment ago (looking it
    up would answer the guess): a module that presents bad keys on purpose calls from its own address, so other
    modules' first calls with new keys from 127.0.0.1 are never throttled by it."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def login_token(url: str, email: str, password: str, scope: str = "ui") -> str:
    response = httpx.post(
        f"{url}/api/auth/login", json={"email": email, "password": password, "scope": scope}, timeout=30
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def open_signed_in(page: Page, route: str, email: str, password: str) -> None:
    """Sign in through the login form and land on `route` (the guard's ?next= brings us back)."""
    page.goto(route)
    sign_in(page, email, password)
    expect(page).to_have_url(re.compile(re.escape(route) + r"/?$"))


def clipboard_text(page: Page) -> str:
    return page.evaluate("navigator.clipboard.readText()")


def fits_the_viewport(page: Page) -> bool:
    """No horizontal scrolling: nothing on the page is wider than the window."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
