"""The sign-in form: email and password against the API; a session that is still valid skips it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import reflex as rx
from reflex.event import EventSpec

from gateway_ui import routes
from gateway_ui.api import ApiError
from gateway_ui.api_connection import API
from gateway_ui.state.auth import AuthState, safe_next_path
from gateway_ui.state.base import FormState


class LoginState(AuthState, FormState):
    """A substate of the session: signing in sets the session's token."""

    def _next_path(self) -> str:
        return safe_next_path(self.router.url.query_parameters.get("next", routes.HOME))

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
            self.token = await API.login(email, password, client_ip=self.router.session.client_ip)
        except ApiError as exc:
            self._show_errors(exc, fields=())  # the form has no per-field messages: the API's one says it all
            return
        finally:
            self.submitting = False
        yield rx.redirect(self._next_path(), replace=True)
