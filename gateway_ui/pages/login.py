"""The login page: email and password against POST /api/auth/login, and "Sign in with SSO" when configured."""

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.form_field import form_field
from gateway_ui.components.layout import Page
from gateway_ui.state.login import LoginState


def _error_callout() -> rx.Component:
    return rx.cond(
        LoginState.form_error != "",
        rx.callout(
            LoginState.form_error,
            icon="triangle-alert",
            color_scheme="red",
            role="alert",
            data_testid="login-error",
        ),
    )


def _login_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            form_field(
                "Email",
                rx.input(
                    id="email",
                    name="email",
                    type="email",
                    auto_complete="username",
                    auto_focus=True,
                    width="100%",
                    on_change=LoginState.clear_field_error("email"),
                ),
                LoginState.field_errors.get("email", ""),
                html_for="email",
                test_id="login-email",
            ),
            form_field(
                "Password",
                rx.input(
                    id="password",
                    name="password",
                    type="password",
                    auto_complete="current-password",
                    width="100%",
                    on_change=LoginState.clear_field_error("password"),
                ),
                LoginState.field_errors.get("password", ""),
                html_for="password",
                test_id="login-password",
            ),
            _error_callout(),
            rx.button(
                "Sign in",
                type="submit",
                loading=LoginState.submitting,
                width="100%",
                size="3",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=LoginState.submit_login,
        reset_on_submit=False,
        # Messages come from one place, beside each field, rather than from the browser's own bubbles.
        no_validate=True,
        width="100%",
    )


def _sso_choice() -> rx.Component:
    """Single sign-on (issue 18): a link to the gateway's SSO start, above the password form."""
    return rx.cond(
        LoginState.sso_enabled,
        rx.vstack(
            rx.button(
                # A document navigation (the gateway answers with a redirect to the identity provider), not a
                # client-side route change.
                rx.link(
                    rx.icon("key-round", size=16),
                    "Sign in with SSO",
                    href=LoginState.sso_href,
                    reload_document=True,
                    underline="none",
                ),
                as_child=True,
                size="3",
                width="100%",
            ),
            rx.hstack(
                rx.separator(size="4"),
                rx.text("or", size="1", color_scheme="gray"),
                rx.separator(size="4"),
                align="center",
                width="100%",
            ),
            rx.cond(
                LoginState.password_for_everyone,
                rx.fragment(),
                rx.text("Password sign-in is for the break-glass administrator only.", size="1", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
    )


def _login_page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(rx.icon("waypoints", size=24), rx.heading("LLM Gateway", size="6"), align="center"),
                rx.text("Sign in with your gateway account.", color_scheme="gray", size="2"),
                _sso_choice(),
                _login_form(),
                spacing="4",
                width="100%",
            ),
            size="4",
            width="min(26rem, 100%)",
        ),
        min_height="100vh",
        padding="1rem",
    )


login_page = Page(
    routes.LOGIN,
    "Sign in - LLM Gateway",
    _login_page,
    (LoginState.redirect_if_signed_in, LoginState.load_sign_in_methods),
)
