"""The one way an admin page answers a signed-in non-admin (the API refuses them anyway)."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.state.auth import AuthState


def admin_only_notice() -> rx.Component:
    return rx.callout(
        rx.text(
            "Only admins can see this page. Your own models and keys are on ",
            rx.link("Models", href=routes.MODELS),
            " and ",
            rx.link("API Keys", href=routes.KEYS),
            "; ask an admin if your account or access needs a change.",
        ),
        icon="lock",
        color_scheme="amber",
        data_testid="admin-only",
    )


def admin_page(content: rx.Component, *, allowed: rx.Var[bool] | None = None) -> rx.Component:
    """`content` for admins, the notice for everyone else. `allowed` narrows it further (the API said 403)."""
    shown = AuthState.is_admin if allowed is None else AuthState.is_admin & allowed
    return rx.cond(shown, content, admin_only_notice())
