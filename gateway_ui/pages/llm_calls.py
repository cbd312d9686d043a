"""LLM Calls (admin): every proxied call, refused ones too, newest first; filters kept in the URL; a drawer with
one call's timings, tokens, cost, redacted headers and, for those who may read them, its request and response."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.admin_only import admin_page
from gateway_ui.components.copy_button import copy_button
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.state.call_views import CallRow, MessageView
from gateway_ui.state.llm_calls import LlmCallsState

COLUMNS = (
    "Time (UTC)", "User or key", "Provider", "Model", "Status", "In", "Out", "Cost", "Duration", "Client", "Session",
)  # fmt: skip
OUTCOMES = ("ok", "upstream_error", "client_closed", "gateway_error", "refused")


def _filter_input(name: str, placeholder: str, width: str = "10rem") -> rx.Component:
    return rx.input(
        name=name,
        placeholder=placeholder,
        default_value=LlmCallsState.filters.get(name, ""),
        aria_label=placeholder,
        width=width,
        size="2",
        data_testid=f"filter-{name}",
    )


def _hidden(name: str) -> rx.Component:
    """A filter the form keeps but nobody types (an id set by a link): submitted as it is, removed by its chip."""
    return rx.el.input(type="hidden", name=name, value=LlmCallsState.filters.get(name, ""))


def _chip(name: str, label: rx.Var[str], noun: str) -> rx.Component:
    return rx.cond(
        LlmCallsState.filters.contains(name),
        rx.badge(
            f"{noun}: ",
            label,
            rx.icon_button(
                rx.icon("x", size=12),
                size="1",
                variant="ghost",
                type="button",
                aria_label=f"Remove the {noun.lower()} filter",
                on_click=LlmCallsState.remove_filter(name),
            ),
            size="2",
            variant="soft",
            data_testid=f"chip-{name}",
        ),
    )


def _filters() -> rx.Component:
    return rx.form(
        rx.flex(
            _hidden("user"),
            _hidden("key"),
            _chip("user", LlmCallsState.filter_user_label, "User"),
            _chip("key", LlmCallsState.filter_key_label, "Key"),
            _filter_input("q", "Search model, user, key", "14rem"),
            _filter_input("model", "Model"),
            _filter_input("provider", "Provider"),
            _filter_input("status", "Status", "6rem"),
            rx.el.select(
                rx.el.option("Any outcome", value=""),
                *(rx.el.option(outcome, value=outcome) for outcome in OUTCOMES),
                name="outcome",
                default_value=LlmCallsState.filters.get("outcome", ""),
                aria_label="Outcome",
                data_testid="filter-outcome",
            ),
            _filter_input("client", "Client (user agent)"),
            _filter_input("session", "Session"),
            _filter_input("from", "From (UTC), e.g. 2026-01-31T09:00", "15rem"),
            _filter_input("to", "To (UTC, exclusive)", "15rem"),
            rx.button(rx.icon("filter", size=14), "Filter", type="submit", data_testid="apply-filters"),
            rx.cond(
                LlmCallsState.has_filters,
                rx.button("Clear", variant="soft", type="button", on_click=LlmCallsState.clear_filters),
            ),
            spacing="2",
            wrap="wrap",
            align="center",
        ),
        on_submit=LlmCallsState.apply_filters,
        reset_on_submit=False,
        width="100%",
    )


def _row(call: CallRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(call.time, white_space="nowrap")),
        rx.table.cell(rx.text(call.who, word_break="break-all")),
        rx.table.cell(call.provider),
        rx.table.cell(rx.code(call.model, variant="ghost")),
        rx.table.cell(
            rx.badge(
                call.status,
                color_scheme=rx.cond(call.outcome == "ok", "green", rx.cond(call.outcome == "refused", "amber", "red")),
                title=call.outcome,
            )
        ),
        rx.table.cell(call.input_tokens),
        rx.table.cell(call.output_tokens),
        rx.table.cell(call.cost),
        rx.table.cell(rx.text(call.duration, white_space="nowrap")),
        rx.table.cell(rx.text(call.client, size="1", word_break="break-all")),
        rx.table.cell(rx.text(call.session, size="1", word_break="break-all")),
        on_click=LlmCallsState.open_call(call.id),
        cursor="pointer",
        data_testid="call-row",
    )


def _table() -> rx.Component:
    return rx.vstack(
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(*(rx.table.column_header_cell(name) for name in COLUMNS))),
                rx.table.body(rx.foreach(LlmCallsState.rows, _row)),
                variant="surface",
                size="1",
                width="100%",
            ),
            width="100%",
            overflow_x="auto",
        ),
        rx.cond(
            LlmCallsState.next_cursor != "",
            rx.button("More calls", variant="soft", on_click=LlmCallsState.more, type="button"),
        ),
        width="100%",
        spacing="3",
    )


def _pairs(pairs: rx.Var[list[list[str]]], test_id: str) -> rx.Component:
    return rx.data_list.root(
        rx.foreach(
            pairs,
            lambda pair: rx.data_list.item(
                rx.data_list.label(pair[0]), rx.data_list.value(rx.text(pair[1], word_break="break-all"))
            ),
        ),
        size="1",
        data_testid=test_id,
    )


def _message(message: MessageView) -> rx.Component:
    return rx.box(
        rx.badge(message.role, variant="soft"),
        rx.el.pre(message.text, white_space="pre-wrap", word_break="break-word", font_size="0.8rem", margin="0"),
        padding="0.5rem",
        border="1px solid var(--gray-a5)",
        border_radius="6px",
        width="100%",
        data_testid="call-message",
    )


def _body_section(title: str, messages: rx.Var[list[MessageView]], raw: rx.Var[str], test_id: str) -> rx.Component:
    return rx.cond(
        raw != "",
        rx.vstack(
            rx.hstack(rx.heading(title, size="3"), copy_button(raw, f"Copy the {title.lower()}", f"copy-{test_id}")),
            rx.foreach(messages, _message),
            rx.el.details(
                rx.el.summary("Raw"),
                rx.el.pre(raw, white_space="pre-wrap", word_break="break-all", font_size="0.75rem"),
            ),
            width="100%",
            spacing="2",
            data_testid=test_id,
        ),
    )


def _drawer() -> rx.Component:
    return rx.drawer.root(
        rx.drawer.overlay(),
        rx.drawer.portal(
            rx.drawer.content(
                rx.vstack(
                    rx.hstack(
                        rx.heading("Call", size="4"),
                        rx.spacer(),
                        rx.drawer.close(rx.icon_button(rx.icon("x", size=16), variant="ghost", aria_label="Close")),
                        width="100%",
                    ),
                    _pairs(LlmCallsState.detail_fields, "call-fields"),
                    rx.cond(LlmCallsState.bodies_note != "", rx.callout(LlmCallsState.bodies_note, icon="info")),
                    rx.cond(
                        LlmCallsState.request_headers.length() > 0,
                        rx.vstack(
                            rx.heading("Request headers", size="3"),
                            _pairs(LlmCallsState.request_headers, "request-headers"),
                        ),
                    ),
                    _body_section(
                        "Request", LlmCallsState.request_messages, LlmCallsState.request_body, "call-request"
                    ),
                    _body_section(
                        "Response", LlmCallsState.response_messages, LlmCallsState.response_body, "call-response"
                    ),
                    rx.cond(
                        LlmCallsState.response_headers.length() > 0,
                        rx.vstack(
                            rx.heading("Response headers", size="3"),
                            _pairs(LlmCallsState.response_headers, "response-headers"),
                        ),
                    ),
                    spacing="3",
                    width="100%",
                ),
                background_color="var(--color-panel-solid)",
                width=["100%", "100%", "44rem"],
                height="100%",
                overflow_y="auto",
                padding="1.25rem",
                right="0",
                left="auto",  # vaul places a drawer's content from the left otherwise
                top="0",
                position="fixed",
                data_testid="call-drawer",
            )
        ),
        open=LlmCallsState.drawer_open,
        on_open_change=LlmCallsState.set_drawer_open,
        direction="right",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.text(
                "Every call to the proxy, refused ones included, newest first. Click a call for its details.",
                size="2",
                color_scheme="gray",
            ),
            rx.spacer(),
            rx.link(
                rx.icon("chart-column", size=14, display="inline", vertical_align="-2px"),
                " Token usage for these filters",
                href=LlmCallsState.usage_href,
                size="2",
                title="The same period, user, model and key on Token Usage",
                data_testid="usage-link",
            ),
            wrap="wrap",
            spacing="2",
            width="100%",
        ),
        _filters(),
        rx.cond(
            LlmCallsState.loading,
            loading_state("Loading calls…"),
            rx.cond(
                LlmCallsState.rows.length() > 0,
                _table(),
                empty_state("list", "No calls", "No call matches these filters yet.", test_id="calls-empty"),
            ),
        ),
        _drawer(),
        spacing="4",
        width="100%",
    )


@gateway_page(route=routes.LLM_CALLS, title="LLM Calls", on_load=[LlmCallsState.load])
def llm_calls_page() -> rx.Component:
    return admin_page(_content())
