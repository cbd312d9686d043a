"""The API Keys page's lists: keys and browser sessions as a table from a tablet up and as cards on a phone, a page
at a time."""

from __future__ import annotations

import reflex as rx

from gateway_ui.components.limits_dialog import limits_button
from gateway_ui.state.keys import KeyRow, KeysState
from gateway_ui.state.limits import LimitsState

STATUS_COLORS = {"active": "green", "expired": "amber", "revoked": "gray"}
UNNAMED = "Unnamed key"


def _key_name(name: rx.Var[str]) -> rx.Component:
    return rx.cond(name != "", rx.text(name, weight="medium"), rx.text(UNNAMED, color_scheme="gray"))


def _status_badge(status: rx.Var[str]) -> rx.Component:
    return rx.match(
        status,
        *[(value, rx.badge(value, color_scheme=color, variant="soft")) for value, color in STATUS_COLORS.items()],
        rx.badge(status, variant="soft"),
    )


def _actions(key: KeyRow) -> rx.Component:
    return rx.hstack(
        rx.cond(~key.is_session, limits_button(LimitsState.open_for_key(key.id, key.prefix + "…"), icon_only=True)),
        rx.cond(
            key.status != "revoked",
            rx.button(
                rx.icon("ban", size=14),
                rx.cond(key.is_session, "Sign out", "Revoke"),
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=KeysState.ask_revoke(key.id, key.name, key.is_this_session, key.is_session),
                aria_label=rx.cond(key.is_session, "Sign out session ", "Revoke key ") + key.prefix,
            ),
        ),
        justify="end",
        spacing="2",
        wrap="wrap",
    )


def _name_cell(key: KeyRow) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            _key_name(key.name),
            rx.cond(key.is_this_session, rx.badge("this browser", variant="outline", size="1")),
            rx.cond(~key.is_session & (key.scopes != "llm"), rx.badge(key.scopes, variant="soft", size="1")),
            align="center",
            wrap="wrap",
            spacing="2",
        ),
        rx.hstack(
            rx.code(key.prefix, "…", variant="ghost", size="1", data_testid="key-prefix"),
            rx.text("created ", key.created, size="1", color_scheme="gray"),
            spacing="2",
            wrap="wrap",
        ),
        spacing="1",
        min_width="0",
    )


def _key_row(key: KeyRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(_name_cell(key)),
        rx.cond(
            KeysState.all_users,
            rx.table.cell(rx.text(key.owner, overflow_wrap="anywhere"), data_testid="key-owner"),
        ),
        rx.table.cell(key.last_used, white_space="nowrap", data_testid="key-last-used"),
        rx.table.cell(key.expires, white_space="nowrap", data_testid="key-expires"),
        rx.table.cell(_status_badge(key.status), data_testid="key-status"),
        rx.table.cell(_actions(key)),
        align="center",
        data_testid=f"key-row-{key.prefix}",
    )


def _key_card(key: KeyRow) -> rx.Component:
    """A key on a phone: the same facts as a table row, stacked."""

    def fact(label: str, value: rx.Var[str], test_id: str) -> rx.Component:
        return rx.text(label, ": ", rx.text.span(value, data_testid=test_id), size="1", color_scheme="gray")

    return rx.card(
        rx.vstack(
            rx.hstack(_name_cell(key), rx.spacer(), rx.box(_status_badge(key.status), data_testid="key-status")),
            rx.cond(KeysState.all_users, rx.text(key.owner, size="1", overflow_wrap="anywhere")),
            rx.flex(
                fact("Last used", key.last_used, "key-last-used"),
                fact("Expires", key.expires, "key-expires"),
                spacing="3",
                wrap="wrap",
            ),
            _actions(key),
            spacing="2",
            width="100%",
        ),
        width="100%",
        data_testid=f"key-card-{key.prefix}",
    )


def pager(page: rx.Var[int], pages: rx.Var[int], go: rx.EventHandler, test_id: str) -> rx.Component:
    return rx.cond(
        pages > 1,
        rx.hstack(
            rx.button(
                rx.icon("chevron-left", size=14),
                "Previous",
                size="1",
                variant="soft",
                disabled=page <= 1,
                on_click=go(page - 1),
                type="button",
            ),
            rx.text("Page ", page, " of ", pages, size="2", data_testid=f"{test_id}-page"),
            rx.button(
                "Next",
                rx.icon("chevron-right", size=14),
                size="1",
                variant="soft",
                disabled=page >= pages,
                on_click=go(page + 1),
                type="button",
            ),
            align="center",
            justify="end",
            width="100%",
            data_testid=f"{test_id}-pager",
        ),
    )


def key_list(rows: rx.Var[list[KeyRow]], test_id: str) -> rx.Component:
    """A table from a tablet up, cards on a phone (a table there would hide its buttons off screen)."""
    headers = ["Last used", "Expires", "State"]
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Name"),
                rx.cond(KeysState.all_users, rx.table.column_header_cell("Owner")),
                *[rx.table.column_header_cell(label, white_space="nowrap") for label in headers],
                rx.table.column_header_cell(aria_label="Actions"),
            )
        ),
        rx.table.body(rx.foreach(rows, _key_row)),
        variant="surface",
        width="100%",
        data_testid=f"{test_id}-table",
    )
    return rx.fragment(
        rx.box(table, width="100%", display=["none", "none", "block"]),
        rx.vstack(
            rx.foreach(rows, _key_card),
            spacing="2",
            width="100%",
            display=["flex", "flex", "none"],
            data_testid=f"{test_id}-cards",
        ),
    )
