"""What an admin page shows a signed-in non-admin (the API refuses them anyway)."""

from __future__ import annotations

import reflex as rx


def admin_only_notice() -> rx.Component:
    return rx.callout("Only admins can see this page.", icon="lock", color_scheme="amber", data_testid="admin-only")
