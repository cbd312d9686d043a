"""Admin Activity (admins and auditors): the admin trail, who changed what and when, with filters kept in the URL
and paging newest first."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.admin_only import admin_page
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.state.audit import AuditRow, AuditState


def _event_row(row: AuditRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.when, size="2", white_space="nowrap")),
        rx.table.cell(rx.text(row.actor, size="2", word_break="break-all")),
        rx.table.cell(rx.code(row.action, variant="soft")),
        rx.table.cell(rx.text(row.target, size="2")),
        rx.table.cell(
            rx.text(row.changes, size="1", white_space="pre-wrap", word_break="break-word", font_family="monospace")
        ),
        data_testid="audit-row",
    )


def _filter_input(name: str, label: str, value: rx.Var[str], placeholder: str, kind: str = "text") -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", weight="medium", aria_hidden="true"),
        rx.input(
            name=name,
            aria_label=label,
            default_value=value,
            key=value,  # the URL's value when the page loads, typed values after
            placeholder=placeholder,
            type=kind,
            size="2",
        ),
        spacing="1",
    )


def _filters() -> rx.Component:
    return rx.form(
        rx.flex(
            _filter_input("actor", "Actor", AuditState.actor, "email, cli or config"),
            _filter_input("action", "Action", AuditState.action, "user.update or provider."),
            _filter_input("target", "Target", AuditState.target, "user or user:12"),
            _filter_input("from", "From", AuditState.from_day, "", "date"),
            _filter_input("to", "To", AuditState.to_day, "", "date"),
            rx.hstack(
                rx.button("Apply", type="submit"),
                rx.button(
                    "Clear", type="button", variant="soft", color_scheme="gray", on_click=AuditState.clear_filters
                ),
                align="end",
                height="100%",
            ),
            spacing="3",
            wrap="wrap",
            align="end",
        ),
        on_submit=AuditState.apply_filters,
        reset_on_submit=False,
        width="100%",
        data_testid="audit-filters",
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.text(AuditState.total.to_string() + " events", size="2", color_scheme="gray", data_testid="audit-total"),
        rx.spacer(),
        rx.button(
            rx.icon("chevron-left", size=16),
            "Newer",
            variant="soft",
            disabled=~AuditState.has_previous,
            on_click=AuditState.previous_page,
            type="button",
        ),
        rx.text("Page " + AuditState.page_number.to_string(), size="2", data_testid="audit-page"),
        rx.button(
            "Older",
            rx.icon("chevron-right", size=16),
            variant="soft",
            disabled=~AuditState.has_next,
            on_click=AuditState.next_page,
            type="button",
        ),
        align="center",
        width="100%",
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("When", width="10rem"),
                    rx.table.column_header_cell("Actor"),
                    rx.table.column_header_cell("Action"),
                    rx.table.column_header_cell("Target"),
                    rx.table.column_header_cell("What changed"),
                )
            ),
            rx.table.body(rx.foreach(AuditState.rows, _event_row)),
            variant="surface",
            width="100%",
        ),
        width="100%",
        overflow_x="auto",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Every change to the gateway, newest first: made in this UI or the REST API (by the signed-in user), "
            "by the gateway CLI on the server (cli) or by the config file at start (config). Secrets never appear.",
            size="2",
            color_scheme="gray",
            max_width="48rem",
        ),
        _filters(),
        rx.cond(
            AuditState.loading,
            loading_state("Loading the admin activity…"),
            rx.cond(
                AuditState.rows.length() > 0,
                rx.vstack(_table(), _pager(), width="100%", spacing="3"),
                empty_state("history", "No activity matches", "Change or clear the filters.", test_id="audit-empty"),
            ),
        ),
        spacing="4",
        width="100%",
    )


@gateway_page(route=routes.ADMIN_ACTIVITY, title="Admin Activity", on_load=[AuditState.load])
def admin_activity_page() -> rx.Component:
    return admin_page(_content())
