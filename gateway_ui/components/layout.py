"""Page chrome shared by every signed-in page: sidebar (a drawer on narrow screens) and the auth guard."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import reflex as rx

from gateway_ui import routes
from gateway_ui.state.auth import AuthState

SIDEBAR_WIDTH = "15rem"
# Radix breakpoint index 2 is 48em (768 px): from there on the sidebar is permanent.
WIDE_ONLY = ["none", "none", "flex"]
NARROW_ONLY = ["flex", "flex", "none"]


@dataclass(frozen=True)
class NavItem:
    label: str
    route: str
    icon: str
    admin_only: bool


LLM_GATEWAY_NAV: tuple[NavItem, ...] = (
    NavItem("Models", routes.MODELS, "boxes", admin_only=False),
    NavItem("Token Usage", routes.USAGE, "chart-column", admin_only=True),
    NavItem("LLM Calls", routes.LLM_CALLS, "list", admin_only=True),
    NavItem("Message Policies", routes.MESSAGE_POLICIES, "message-square-warning", admin_only=True),
    NavItem("Policy Violations", routes.POLICY_VIOLATIONS, "shield-alert", admin_only=True),
    NavItem("Model Providers", routes.PROVIDERS, "server", admin_only=True),
    NavItem("Model Access Policies", routes.POLICIES, "shield-check", admin_only=True),
    NavItem("Users & Groups", routes.USERS, "users", admin_only=True),
    NavItem("API Keys", routes.KEYS, "key-round", admin_only=False),
    NavItem("Admin Activity", routes.ADMIN_ACTIVITY, "history", admin_only=True),
)


def _nav_link(item: NavItem, close_drawer: bool) -> rx.Component:
    is_current = AuthState.router.page.path == item.route
    link = rx.link(
        rx.hstack(rx.icon(item.icon, size=16), rx.text(item.label, size="2"), align="center"),
        href=item.route,
        underline="none",
        color_scheme="gray",
        high_contrast=is_current,
        weight=rx.cond(is_current, "bold", "regular"),
        padding_y="0.35rem",
        padding_x="0.5rem",
        border_radius="var(--radius-2)",
        background=rx.cond(is_current, "var(--gray-a4)", "transparent"),
        # Reflex's links turn accent-8 on hover, which on gray reads as disabled: darken and tint instead.
        _hover={"color": "var(--gray-12)", "background": "var(--gray-a3)"},
        width="100%",
        data_testid=f"nav-{item.route.rsplit('/', 1)[-1]}",
    )
    if close_drawer:
        # Following a link keeps the drawer mounted; closing it explicitly avoids a stale overlay.
        link = rx.drawer.close(link)
    if item.admin_only:
        return rx.cond(AuthState.can_read_admin_pages, link)
    return link


def _nav_sections(close_drawer: bool) -> rx.Component:
    return rx.vstack(
        rx.text("LLM Gateway", size="1", weight="bold", color_scheme="gray", padding_x="0.5rem"),
        *[_nav_link(item, close_drawer) for item in LLM_GATEWAY_NAV],
        spacing="1",
        width="100%",
        as_="nav",
        aria_label="LLM Gateway",
    )


def _account_footer() -> rx.Component:
    return rx.vstack(
        rx.divider(),
        rx.text(AuthState.user_email, size="2", weight="medium", trim="both"),
        rx.badge(AuthState.user_role, variant="soft", width="fit-content"),
        rx.button(
            rx.icon("log-out", size=16),
            "Sign out",
            on_click=AuthState.logout,
            variant="soft",
            color_scheme="gray",
            width="100%",
        ),
        spacing="2",
        width="100%",
    )


def _brand() -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon("waypoints", size=20), rx.heading("Gateway", size="4"), align="center"),
        href=routes.HOME,
        underline="none",
        color_scheme="gray",
        high_contrast=True,
    )


def _sidebar_body(close_drawer: bool) -> rx.Component:
    return rx.vstack(
        _brand(),
        _nav_sections(close_drawer),
        rx.spacer(),
        _account_footer(),
        spacing="5",
        height="100%",
        width="100%",
        padding="1rem",
    )


def _wide_sidebar() -> rx.Component:
    return rx.box(
        _sidebar_body(close_drawer=False),
        display=WIDE_ONLY,
        position="sticky",
        top="0",
        height="100vh",
        width=SIDEBAR_WIDTH,
        min_width=SIDEBAR_WIDTH,
        border_right="1px solid var(--gray-a5)",
        background="var(--gray-2)",
        overflow_y="auto",
        data_testid="sidebar",
    )


def _narrow_top_bar() -> rx.Component:
    return rx.hstack(
        rx.drawer.root(
            rx.drawer.trigger(
                rx.icon_button(
                    rx.icon("menu"), variant="ghost", aria_label="Open navigation", data_testid="nav-menu-button"
                )
            ),
            rx.drawer.overlay(),
            rx.drawer.portal(
                rx.drawer.content(
                    rx.box(
                        _sidebar_body(close_drawer=True),
                        height="100%",
                        width="100%",
                        background="var(--gray-2)",
                    ),
                    width="min(18rem, 85vw)",
                    height="100%",
                    data_testid="nav-drawer",
                )
            ),
            direction="left",
        ),
        _brand(),
        display=NARROW_ONLY,
        align="center",
        spacing="3",
        padding="0.75rem 1rem",
        border_bottom="1px solid var(--gray-a5)",
        width="100%",
        position="sticky",
        top="0",
        background="var(--color-background)",
        z_index="10",
    )


def layout(title: str, *content: rx.Component) -> rx.Component:
    """A signed-in page: navigation plus `content`, rendered only once the guard knows the user."""
    page = rx.flex(
        _wide_sidebar(),
        rx.box(
            _narrow_top_bar(),
            rx.box(
                rx.heading(title, size="6", margin_bottom="1rem"),
                *content,
                padding=["1rem", "1rem", "2rem"],
                width="100%",
                max_width="80rem",
                as_="main",
            ),
            flex="1",
            min_width="0",
        ),
        width="100%",
        min_height="100vh",
    )
    # Until the guard has checked the token, show nothing but a spinner (no flash of admin links).
    return rx.cond(
        AuthState.is_signed_in,
        page,
        rx.center(rx.spinner(size="3"), height="100vh"),
    )


@dataclass(frozen=True)
class Page:
    """A page of the app: gateway_ui.py adds each one to the app once.

    Not Reflex's @rx.page: Reflex keeps decorated pages in a registry and adds them again at every compile, and
    `reflex run --env prod` compiles twice in one process (the command, then the forked backend worker), which
    printed a "Page ... is being redefined" warning per page at every start.
    """

    route: str
    title: str
    build: Callable[[], rx.Component]
    on_load: tuple[rx.event.EventType[()], ...] = ()

    def add_to(self, app: rx.App) -> None:
        app.add_page(self.build, route=self.route, title=self.title, on_load=list(self.on_load) or None)


def gateway_page(
    route: str,
    title: str,
    on_load: Sequence[rx.event.EventType[()]] = (),
) -> Callable[[Callable[[], rx.Component]], Page]:
    """A signed-in page: wrapped in `layout`, with the auth guard before its own on_load."""

    def page(build_content: Callable[[], rx.Component]) -> Page:
        def build_page() -> rx.Component:
            return layout(title, build_content())

        build_page.__name__ = build_content.__name__
        build_page.__module__ = build_content.__module__
        return Page(route, f"{title} - LLM Gateway", build_page, (AuthState.require_login, *on_load))

    return page
