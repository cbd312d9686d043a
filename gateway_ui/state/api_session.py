"""What page states share when they call the API: the session's view of it, and turning failures into UI events."""

from __future__ import annotations

from datetime import datetime

import reflex as rx
from reflex.event import EventHandler, EventSpec

from gateway_ui.api import ApiError, UserApi
from gateway_ui.api_connection import API
from gateway_ui.state.auth import AuthState

NEVER = "Never"

# What a handler yields after its work: a toast, a redirect, another state's handler, or nothing.
UiEvent = EventSpec | EventHandler | None


async def session_api(state: rx.State) -> UserApi:
    """The API as the browser session's user (its token is kept by AuthState in local storage)."""
    auth = await state.get_state(AuthState)
    return API.as_user(auth.token)


def failure_event(exc: ApiError, action: str) -> EventSpec | EventHandler:
    """A toast naming what failed and the API's reason; an expired session goes back through the login guard."""
    if exc.is_unauthorized:
        return AuthState.require_login
    return rx.toast.error(f"{action}: {exc.message}")


def short_timestamp(value: str | None, empty: str = NEVER) -> str:
    """An API timestamp as "2025-01-31 14:05 UTC" (the API speaks UTC)."""
    if not value:
        return empty
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    return parsed.strftime("%Y-%m-%d %H:%M UTC")
