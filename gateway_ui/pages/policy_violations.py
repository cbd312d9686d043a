"""Policy Violations (admins and auditors): every violation newest first, filters kept in the URL, counts by policy,
user and day, and a drawer with one violation's details, its offending content (auditors) and a link to its call."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.admin_only import admin_page
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.state.message_policy_views import ACTIONS, SCOPE_LABELS, SCOPES
from gateway_ui.state.policy_violations import PolicyViolationsState as State
from gateway_ui.state.violation_views import STATS_TITLES, StatLine, ViolationRow

COLUMNS = ("Time (UTC)", "Policy", "User or key", "Scope", "Action", "Explanation")


def _choice_select(name: str, label: str, choices: rx.Var[list[list[str]]]) -> rx.Component:
    return rx.el.select(
        rx.el.option(f"Any {label.lower()}", value=""),
        rx.foreach(choices, lambda choice: rx.el.option(choice[1], value=choice[0])),
        name=name,
        default_value=State.filters.get(name, ""),
        aria_label=label,
        data_testid=f"filter-{name}",
        max_width="16rem",  # a long email or policy name would make the row as wide as it
    )


def _fixed_select(name: str, label: str, choices: tuple[tuple[str, str], ...]) -> rx.Component:
    return rx.el.select(
        rx.el.option(f"Any {label.lower()}", value=""),
        *(rx.el.option(text, value=value) for value, text in choices),
        name=name,
        default_value=State.filters.get(name, ""),
        aria_label=label,
        data_testid=f"filter-{name}",
    )


def _date_input(name: str, label: str) -> rx.Component:
    return rx.hstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.input(
            type="date",
            name=name,
            default_value=State.filters.get(name, ""),
            aria_label=label,
            size="2",
            data_testid=f"filter-{name}",
        ),
        align="center",
        spacing="1",
    )


def _filters() -> rx.Component:
    # Keyed by the URL's filters and the loading flag: a new URL (a link followed, Back) and the policy and user
    # choices arriving mount the form afresh, as the selects' default values apply only when they mount.
    return rx.form(
        rx.flex(
            _choice_select("policy", "Policy", State.policy_choices),
            _choice_select("user", "User", State.user_choices),
            _fixed_select("scope", "Scope", tuple((s, SCOPE_LABELS[s]) for s in SCOPES)),
            _fixed_select("action", "Action", tuple((a, a) for a in ACTIONS)),
            _date_input("from", "From"),
            _date_input("to", "To"),
            rx.button(rx.icon("filter", size=14), "Filter", type="submit", data_testid="apply-filters"),
            rx.cond(State.has_filters, rx.button("Clear", variant="soft", type="button", on_click=State.clear_filters)),
            spacing="2",
            wrap="wrap",
            align="center",
        ),
        on_submit=State.apply_filters,
        reset_on_submit=False,
        width="100%",
        key=State.filters.to_string() + State.loading.to_string(),
    )


def _stat_list(title: str, lines: rx.Var[list[StatLine]], test_id: str) -> rx.Component:
    def line(stat: StatLine) -> rx.Component:
        return rx.vstack(
            rx.flex(
                rx.text(stat.label, size="1", word_break="break-all"),
                rx.spacer(),
                rx.text(stat.count, size="1", weight="bold"),
                width="100%",
                spacing="2",
            ),
            rx.box(height="4px", width=stat.share.to_string() + "%", background_color="var(--accent-9)"),
            spacing="1",
            width="100%",
        )

    return rx.card(
        rx.vstack(
            rx.heading(title, size="2"),
            rx.cond(
                lines.length() > 0,
                rx.vstack(rx.foreach(lines, line), spacing="2", width="100%"),
                rx.text("None", size="1", color_scheme="gray"),
            ),
            spacing="2",
            width="100%",
        ),
        flex="1",
        min_width="14rem",
        data_testid=test_id,
    )


def _stats() -> rx.Component:
    return rx.flex(
        _stat_list(STATS_TITLES["policy"], State.stats_by_policy, "stats-policy"),
        _stat_list(STATS_TITLES["user"], State.stats_by_user, "stats-user"),
        _stat_list(STATS_TITLES["day"], State.stats_by_day, "stats-day"),
        spacing="3",
        wrap="wrap",
        width="100%",
    )


def _row(row: ViolationRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.time, white_space="nowrap")),
        rx.table.cell(rx.text(row.policy, weight="medium", word_break="break-word")),
        rx.table.cell(rx.text(row.who, word_break="break-all")),
        rx.table.cell(row.scope),
        rx.table.cell(
            rx.badge(row.action, color_scheme=rx.match(row.action, ("block", "red"), ("redact", "amber"), "blue"))
        ),
        rx.table.cell(rx.text(row.explanation, size="1", word_break="break-word")),
        on_click=State.open_violation(row.id),
        cursor="pointer",
        data_testid="violation-row",
    )


def _table() -> rx.Component:
    return rx.vstack(
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(*(rx.table.column_header_cell(name) for name in COLUMNS))),
                rx.table.body(rx.foreach(State.rows, _row)),
                variant="surface",
                size="1",
                width="100%",
            ),
            width="100%",
            overflow_x="auto",
        ),
        rx.cond(
            State.next_cursor != "",
            rx.button("More violations", variant="soft", on_click=State.more, type="button"),
        ),
        width="100%",
        spacing="3",
    )


def _drawer() -> rx.Component:
    return rx.drawer.root(
        rx.drawer.overlay(),
        rx.drawer.portal(
            rx.drawer.content(
                rx.vstack(
                    rx.hstack(
                        rx.heading("Violation", size="4"),
                        rx.spacer(),
                        rx.drawer.close(rx.icon_button(rx.icon("x", size=16), variant="ghost", aria_label="Close")),
                        width="100%",
                    ),
                    rx.data_list.root(
                        rx.foreach(
                            State.detail_fields,
                            lambda pair: rx.data_list.item(
                                rx.data_list.label(pair[0]),
                                rx.data_list.value(rx.text(pair[1], word_break="break-word")),
                            ),
                        ),
                        size="1",
                        data_testid="violation-fields",
                    ),
                    rx.cond(
                        State.call_href != "",
                        rx.link(
                            rx.icon("external-link", size=14),
                            "Open the call in LLM Calls",
                            href=State.call_href,
                            display="inline-flex",
                            align_items="center",
                            gap="0.25rem",
                            data_testid="violation-call-link",
                        ),
                    ),
                    rx.cond(State.content_note != "", rx.callout(State.content_note, icon="info", size="1")),
                    rx.cond(
                        State.detail_content != "",
                        rx.vstack(
                            rx.heading("Offending content", size="3"),
                            rx.el.pre(
                                State.detail_content,
                                white_space="pre-wrap",
                                word_break="break-word",
                                font_size="0.8rem",
                                margin="0",
                                padding="0.5rem",
                                border="1px solid var(--gray-a5)",
                                border_radius="6px",
                                width="100%",
                            ),
                            width="100%",
                            data_testid="violation-content",
                        ),
                    ),
                    spacing="3",
                    width="100%",
                ),
                background_color="var(--color-panel-solid)",
                width=["100%", "100%", "36rem"],
                height="100%",
                overflow_y="auto",
                padding="1.25rem",
                right="0",
                top="0",
                position="fixed",
                data_testid="violation-drawer",
            )
        ),
        open=State.drawer_open,
        on_open_change=State.set_drawer_open,
        direction="right",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.text(
            "Content that broke a message policy, newest first: what was blocked, redacted or only recorded. "
            "Click one for its details and the call it belongs to.",
            size="2",
            color_scheme="gray",
        ),
        _filters(),
        rx.cond(
            State.loading,
            loading_state("Loading violations…"),
            rx.vstack(
                _stats(),
                rx.cond(
                    State.rows.length() > 0,
                    _table(),
                    empty_state(
                        "shield-check", "No violations", "Nothing matches these filters.", test_id="violations-empty"
                    ),
                ),
                spacing="4",
                width="100%",
            ),
        ),
        _drawer(),
        spacing="4",
        width="100%",
    )


@gateway_page(route=routes.POLICY_VIOLATIONS, title="Policy Violations", on_load=[State.load])
def policy_violations_page() -> rx.Component:
    return admin_page(_content())
