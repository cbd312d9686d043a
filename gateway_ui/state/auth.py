"""Session state: the API token kept in browser local storage, the signed-in user, login and logout."""

from __future__ import annotations

from urllib.parse import quote

import reflex as rx

from gateway_ui import api_client, routes

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
    login_error: str = ""
    login_in_progress: bool = False

    @rx.var
    def is_admin(self) -> bool:
        return self.user_role == "admin"

    @rx.var
    def is_signed_in(self) -> bool:
        return bool(self.user_email)

    def _forget_session(self) -> None:
        self.token = ""
        self.user_email = ""
        self.user_role = ""

    @rx.event
    async def require_login(self):
        """Page guard: no token, or one the API no longer accepts, sends the browser to the login page."""
        requested = self.router.url.path or routes.HOME
        if self.router.url.query:
            requested = f"{requested}?{self.router.url.query}"
        login_redirect = rx.redirect(f"{routes.LOGIN}?next={quote(requested, safe='')}", replace=True)
        if not self.token:
            self._forget_session()
            return login_redirect
        try:
            user = await api_client.current_user(self.token)
        except api_client.ApiError as exc:
            if exc.is_unauthorized:
                self._forget_session()
                return login_redirect
            return rx.toast.error(exc.message)
        self.user_email = user.email
        self.user_role = user.role
        return None

    @rx.event
    async def redirect_if_signed_in(self):
        """Login page on_load: a still-valid session skips the form."""
        self.login_error = ""
        if not self.token:
            return None
        try:
            await api_client.current_user(self.token)
        except api_client.ApiError:
            self._forget_session()
            return None
        return rx.redirect(self._next_path(), replace=True)

    def _next_path(self) -> str:
        return safe_next_path(self.router.url.query_parameters.get("next", routes.HOME))

    @rx.event
    async def submit_login(self, form_data: dict[str, str]):
        self.login_error = ""
        self.login_in_progress = True
        yield
        try:
            self.token = await api_client.login(
                form_data.get("email", "").strip(),
                form_data.get("password", ""),
                client_ip=self.router.session.client_ip,
            )
        except api_client.ApiError as exc:
            self.login_error = exc.message
            return
        finally:
            self.login_in_progress = False
        yield rx.redirect(self._next_path(), replace=True)

    @rx.event
    async def logout(self):
        token = self.token
        self._forget_session()
        if token:
            try:
                await api_client.logout(token)
            except api_client.ApiError as exc:
                # An already expired or revoked token is the outcome we wanted anyway.
                if not exc.is_unauthorized:
                    yield rx.toast.error(f"Signed out here, but the server could not revoke the session: {exc.message}")
        yield rx.redirect(routes.LOGIN, replace=True)
