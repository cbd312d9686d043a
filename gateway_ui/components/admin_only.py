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
    readers = AuthState.can_read_admin_pages
    shown = readers if allowed is None else readers & allowed
    return rx.cond(
        shown, rx.vstack(rx.cond(AuthState.is_auditor, read_only_notice()), content, width="100%"), admin_only_notice()
    )


def read_only_notice() -> rx.Component:
    """Auditors see the admin pages to read them; the API refuses their changes (403)."""
    return rx.callout(
        "Read-only: as an auditor you can look at everything here; changes are for admins.",
        icon="eye",
        color_scheme="gray",
        size="1",
        data_testid="read-only",
    )


def for_admins(control: rx.Component) -> rx.Component:
    """A control that changes something: shown to admins, hidden from auditors (who read the same page)."""
    return rx.cond(AuthState.is_admin, control)
