"""The sign-in form: email and password against the API; a session that is still valid skips it. With single
sign-on, a "Sign in with SSO" link to the gateway's SSO start, and the end of a sign-on coming back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, quote

import reflex as rx
from reflex.event import EventSpec

from gateway_ui import routes
from gateway_ui.api import ApiError
from gateway_ui.api_connection import API
from gateway_ui.state.auth import AuthState, safe_next_path
from gateway_ui.state.base import FormState

SSO_START_PATH = "/api/auth/oidc/start"
# The fragment a finished sign-on comes back with (`#sso=<one-time code>`): the browser never sends it to a server.
SSO_FRAGMENT_KEY = "sso"
# Reads the fragment, then drops it from the address bar and the history at once.
READ_AND_CLEAR_FRAGMENT = (
    "(() => { const h = window.location.hash; if (h) { history.replaceState(null, '', "
    "window.location.pathname + window.location.search); } return h; })()"
)


class LoginState(AuthState, FormState):
    """A substate of the session: signing in sets the session's token."""

    # Single sign-on (issue 18).
    sso_enabled: bool = False
    password_for_everyone: bool = True
    sso_href: str = SSO_START_PATH

    def _next_path(self) -> str:
        return safe_next_path(self.router.url.query_parameters.get("next", routes.HOME))

    def _browser_address(self) -> tuple[str, str]:
        """The websocket's peer and X-Forwarded-For: the API throttles sign-ins per browser (api/browser_hop.py)."""
        return self.router.session.client_ip, self.router.headers.raw_headers.get("x-forwarded-for", "")

    @rx.event
    async def redirect_if_signed_in(self) -> EventSpec | None:
        """Login page on_load: a still-valid session skips the form."""
        self._clear_errors()
        if not self.token:
            return None
        try:
            await API.as_user(self.token).current_user()
        except ApiError:
            self._forget_session()
            return None
        return rx.redirect(self._next_path(), replace=True)

    @rx.event
    async def submit_login(self, form_data: dict[str, str]) -> AsyncIterator[EventSpec | None]:
        email, password = form_data.get("email", "").strip(), form_data.get("password", "")
        missing = {
            field: f"enter your {label}"
            for field, label, value in (("email", "email", email), ("password", "password", password))
            if not value
        }
        if missing:
            self._set_field_errors(missing)
            return
        self._start_submit()
        yield
        try:
            self.token = await API.login(email, password, *self._browser_address())
        except ApiError as exc:
            self._show_errors(exc, fields=())  # the form has no per-field messages: the API's one says it all
            return
        finally:
            self.submitting = False
        yield rx.redirect(self._next_path(), replace=True)

    # Single sign-on (issue 18): the methods shown, and the one-time code a sign-on ends with.
    @rx.event
    async def load_sign_in_methods(self) -> AsyncIterator[EventSpec | None]:
        try:
            methods = await API.sign_in_methods()
        except ApiError:
            return  # the password form still works; a failing API will say so when it is used
        self.sso_enabled = methods.sso
        self.password_for_everyone = methods.password
        self.sso_href = f"{SSO_START_PATH}?next={quote(self._next_path(), safe='')}"
        if methods.sso:
            yield rx.call_script(READ_AND_CLEAR_FRAGMENT, callback=LoginState.finish_sso)

    @rx.event
    async def finish_sso(self, fragment: str) -> AsyncIterator[EventSpec | None]:
        """Exchange the fragment's one-time code for the session token, exactly as a password sign-in ends."""
        codes = parse_qs(str(fragment or "").lstrip("#")).get(SSO_FRAGMENT_KEY, [])
        if not codes:
            return
        self._start_submit()
        yield
        try:
            self.token = await API.exchange_sso_code(codes[0], *self._browser_address())
        except ApiError as exc:
            self._show_errors(exc, fields=())
            return
        finally:
            self.submitting = False
        yield rx.redirect(self._next_path(), replace=True)
