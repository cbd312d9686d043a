"""The login page: email and password against POST /api/auth/login."""

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.layout import Page
from gateway_ui.state.login import LoginState


def _label(text: str, input_id: str) -> rx.Component:
    return rx.el.label(text, html_for=input_id, font_size="var(--font-size-2)", font_weight="500")


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
            rx.vstack(
                _label("Email", "email"),
                rx.input(
                    id="email",
                    name="email",
                    type="email",
                    auto_complete="username",
                    required=True,
                    auto_focus=True,
                    width="100%",
                ),
                spacing="1",
                width="100%",
            ),
            rx.vstack(
                _label("Password", "password"),
                rx.input(
                    id="password",
                    name="password",
                    type="password",
                    auto_complete="current-password",
                    required=True,
                    width="100%",
                ),
                spacing="1",
                width="100%",
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
        width="100%",
    )


def _login_page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(rx.icon("waypoints", size=24), rx.heading("LLM Gateway", size="6"), align="center"),
                rx.text("Sign in with your gateway account.", color_scheme="gray", size="2"),
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


login_page = Page(routes.LOGIN, "Sign in - LLM Gateway", _login_page, (LoginState.redirect_if_signed_in,))
