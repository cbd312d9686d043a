"""The landing page after sign-in. Admins: what is left to set up, then today at a glance. Users: their models,
their keys and their own week of usage."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.list_states import loading_state
from gateway_ui.state.auth import AuthState
from gateway_ui.state.home import HomeState, KeyLine, ModelFigure, ProviderModels, SetupStep


def _step(step: SetupStep) -> rx.Component:
    return rx.hstack(
        rx.cond(
            step.done,
            rx.icon("circle-check", color="var(--green-9)", size=20, flex_shrink="0"),
            rx.icon("circle", color="var(--gray-8)", size=20, flex_shrink="0"),
        ),
        rx.vstack(
            rx.text(step.title, weight="medium", size="2"),
            rx.text(step.detail, size="1", color_scheme="gray"),
            spacing="0",
            flex="1",
            min_width="0",
        ),
        rx.link(step.action, href=step.href, size="2", white_space="nowrap"),
        align="center",
        width="100%",
        padding_y="0.5rem",
        border_bottom="1px solid var(--gray-a3)",
        data_testid=f"setup-step-{step.key}",
        data_done=rx.cond(step.done, "true", "false"),
    )


def _checklist() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Set up the gateway", size="4"),
                rx.spacer(),
                rx.badge(HomeState.steps_done, " of 5 done", variant="soft", data_testid="setup-progress"),
                align="center",
                width="100%",
            ),
            rx.foreach(HomeState.steps, _step),
            spacing="2",
            width="100%",
        ),
        width="100%",
        data_testid="setup-checklist",
    )


def _figure(label: str, value: rx.Var[str], test_id: str, note: rx.Component | None = None) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color_scheme="gray"),
            rx.text(value, size="6", weight="bold", data_testid=test_id),
            *([note] if note is not None else []),
            spacing="1",
        ),
    )


def _figures(period: str) -> rx.Component:
    return rx.vstack(
        rx.grid(
            _figure("Calls", HomeState.requests_text, "home-calls"),
            _figure(
                "Errors",
                HomeState.failed_text,
                "home-errors",
                rx.text(
                    rx.cond(HomeState.has_failures, "calls that failed", "none failed"),
                    size="1",
                    color_scheme=rx.cond(HomeState.has_failures, "red", "gray"),
                ),
            ),
            _figure(
                "Spend",
                HomeState.spend_text,
                "home-spend",
                rx.cond(
                    HomeState.unpriced_note != "",
                    rx.text(HomeState.unpriced_note, size="1", color_scheme="amber", data_testid="home-unpriced"),
                ),
            ),
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="3",
            width="100%",
        ),
        rx.card(
            rx.vstack(
                rx.text("Top models", size="2", weight="bold"),
                rx.cond(
                    HomeState.top_models.length() > 0,
                    rx.foreach(HomeState.top_models, _model_figure),
                    rx.text(f"No calls {period}.", size="2", color_scheme="gray"),
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
            data_testid="home-top-models",
        ),
        spacing="3",
        width="100%",
    )


def _model_figure(model: ModelFigure) -> rx.Component:
    return rx.hstack(
        rx.text(model.label, font_family="var(--code-font-family)", size="2", overflow_wrap="anywhere", flex="1"),
        rx.text(model.requests_text, " calls", size="2", color_scheme="gray", white_space="nowrap"),
        rx.text(model.spend_text, size="2", weight="medium", white_space="nowrap"),
        spacing="3",
        width="100%",
    )


def _admin_home() -> rx.Component:
    return rx.vstack(
        _checklist(),
        rx.hstack(
            rx.heading("Today (UTC)", size="4"),
            rx.spacer(),
            rx.link("Token Usage", href=routes.USAGE, size="2"),
            align="center",
            width="100%",
        ),
        _figures("today"),
        spacing="4",
        width="100%",
    )


def _provider_models(group: ProviderModels) -> rx.Component:
    return rx.vstack(
        rx.text(group.label, " · ", group.count, rx.cond(group.count == 1, " model", " models"), weight="medium"),
        rx.text(group.names, size="1", color_scheme="gray", font_family="var(--code-font-family)"),
        spacing="0",
        width="100%",
    )


def _key_line(key: KeyLine) -> rx.Component:
    return rx.hstack(
        rx.text(key.name, weight="medium", size="2", flex="1", overflow_wrap="anywhere"),
        rx.code(key.prefix, "…", variant="ghost"),
        rx.text("expires ", key.expires, size="1", color_scheme="gray", white_space="nowrap"),
        spacing="3",
        align="center",
        width="100%",
    )


def _section_card(title: str, link: str, href: str, body: rx.Component, test_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.heading(title, size="4"), rx.spacer(), rx.link(link, href=href, size="2"), width="100%"),
            body,
            spacing="3",
            width="100%",
        ),
        width="100%",
        data_testid=test_id,
    )


def _user_home() -> rx.Component:
    models = rx.cond(
        HomeState.model_groups.length() > 0,
        rx.vstack(rx.foreach(HomeState.model_groups, _provider_models), spacing="2", width="100%"),
        rx.text("No models yet: an administrator grants them with a Model Access Policy.", size="2"),
    )
    keys = rx.cond(
        HomeState.keys.length() > 0,
        rx.vstack(rx.foreach(HomeState.keys, _key_line), spacing="2", width="100%"),
        rx.text("No keys yet. The Models page makes one for its snippets.", size="2"),
    )
    return rx.vstack(
        rx.grid(
            _section_card("Your models", "How to call them", routes.MODELS, models, "home-my-models"),
            _section_card("Your keys", "API Keys", routes.KEYS, keys, "home-my-keys"),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="3",
            width="100%",
        ),
        rx.heading("Your last 7 days", size="4"),
        _figures("in the last 7 days"),
        spacing="4",
        width="100%",
    )


@gateway_page(route=routes.HOME, title="Overview", on_load=[HomeState.load])
def home_page() -> rx.Component:
    return rx.vstack(
        rx.text("Signed in as ", rx.text.strong(AuthState.user_email), ".", data_testid="signed-in-as"),
        rx.cond(
            HomeState.loading & (HomeState.steps.length() == 0) & (HomeState.top_models.length() == 0),
            loading_state("Loading the overview…"),
            rx.cond(AuthState.is_admin, _admin_home(), _user_home()),
        ),
        spacing="4",
        width="100%",
    )
