"""Session state: the API token kept in browser local storage, the signed-in user, the page guard and sign-out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import reflex as rx
from reflex.event import EventSpec

from gateway_ui import routes
from gateway_ui.api import ApiError
from gateway_ui.api_connection import API
from gateway_ui.state.unpickled import without_secrets

TOKEN_STORAGE_KEY = "gateway_ui_token"


def safe_next_path(candidate: str) -> str:
    """Only follow redirects to our own pages, never to another site (`//evil.example`)."""
    if candidate.startswith("/") and not candidate.startswith("//") and candidate != routes.LOGIN:
        return candidate
    return routes.HOME


class AuthState(rx.State):
    # Local storage, so the session survives reloads and new tabs until the API says it expired.
    token: str = rx.LocalStorage("", name=TOKEN_STORAGE_KEY, sync=True)
    user_email: str = ""
    user_role: str = ""

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without token (state/unpickled.py)."""
        return without_secrets(super().__getstate__(), ("token",))

    @rx.var
    def is_admin(self) -> bool:
        return self.user_role == "admin"

    @rx.var
    def is_auditor(self) -> bool:
        return self.user_role == "auditor"

    @rx.var
    def can_read_admin_pages(self) -> bool:
        """Admins, and auditors (read-only: the pages hide or disable their write buttons for them)."""
        return self.user_role in ("admin", "auditor")

    @rx.var
    def is_signed_in(self) -> bool:
        return bool(self.user_email)

    def _forget_session(self) -> None:
        self.token = ""
        self.user_email = ""
        self.user_role = ""

    @rx.event
    async def require_login(self) -> EventSpec | None:
        """Page guard: no token, or one the API no longer accepts, sends the browser to the login page."""
        requested = self.router.url.path or routes.HOME
        if self.router.url.query:
            requested = f"{requested}?{self.router.url.query}"
        login_redirect = rx.redirect(f"{routes.LOGIN}?next={quote(requested, safe='')}", replace=True)
        if not self.token:
            self._forget_session()
            return login_redirect
        try:
            user = await API.as_user(self.token).current_user()
        except ApiError as exc:
            if exc.is_unauthorized:
                self._forget_session()
                return login_redirect
            return rx.toast.error(exc.message)
        self.user_email = user.email
        self.user_role = user.role
        return None

    @rx.event
    async def logout(self) -> AsyncIterator[EventSpec]:
        token = self.token
        self._forget_session()
        if token:
            try:
                await API.as_user(token).logout()
            except ApiError as exc:
                # An already expired or revoked token is the outcome we wanted anyway.
                if not exc.is_unauthorized:
                    yield rx.toast.error(f"Signed out here, but the server could not revoke the session: {exc.message}")
        yield rx.redirect(routes.LOGIN, replace=True)
