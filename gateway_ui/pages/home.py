"""The landing page after sign-in: who you are and where the gateway pages are."""

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.layout import LLM_GATEWAY_NAV, NavItem, gateway_page
from gateway_ui.state.auth import AuthState


def _shortcut(item: NavItem) -> rx.Component:
    card = rx.link(
        rx.card(rx.hstack(rx.icon(item.icon, size=18), rx.text(item.label, weight="medium"), align="center")),
        href=item.route,
        underline="none",
    )
    return rx.cond(AuthState.is_admin, card) if item.admin_only else card


@gateway_page(route=routes.HOME, title="LLM Gateway")
def home_page() -> rx.Component:
    return rx.vstack(
        rx.text("Signed in as ", rx.text.strong(AuthState.user_email), ".", data_testid="signed-in-as"),
        rx.grid(
            *[_shortcut(item) for item in LLM_GATEWAY_NAV],
            columns=rx.breakpoints(initial="1", sm="2", lg="3"),
            spacing="3",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
