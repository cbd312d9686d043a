"""Message Policies (admin; auditors read): rules on what users send and what tools the model calls; the judge model;
create and edit in a form with a "try it" box, delete with confirmation."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.admin_only import admin_page, for_admins
from gateway_ui.components.confirm_dialog import confirm_dialog
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.components.subject_badge import subject_badge
from gateway_ui.pages.message_policy_form import message_policy_form_dialog
from gateway_ui.state.auth import AuthState
from gateway_ui.state.message_policies import NO_JUDGE
from gateway_ui.state.message_policies import MessagePoliciesState as State
from gateway_ui.state.message_policy_views import MessagePolicyRow

ACTION_COLORS = (("block", "red"), ("redact", "amber"), "blue")


def _row(policy: MessagePolicyRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(policy.name, weight="medium", word_break="break-word")),
        rx.table.cell(rx.flex(rx.foreach(policy.subjects, subject_badge), spacing="1", wrap="wrap")),
        rx.table.cell(
            rx.flex(
                rx.foreach(policy.scope_labels, lambda s: rx.badge(s, variant="outline", color_scheme="gray")),
                spacing="1",
                wrap="wrap",
            )
        ),
        rx.table.cell(rx.badge(policy.action, color_scheme=rx.match(policy.action, *ACTION_COLORS))),
        rx.table.cell(
            rx.hstack(
                rx.badge(
                    policy.rule_kind,
                    variant="soft",
                    color_scheme=rx.cond(policy.rule_kind == "judge", "violet", "gray"),
                ),
                rx.text(policy.rule_summary, size="1", font_family="var(--code-font-family)", word_break="break-all"),
                spacing="2",
                align="center",
            )
        ),
        rx.table.cell(
            rx.cond(
                policy.enabled,
                rx.badge("on", color_scheme="green", variant="soft"),
                rx.badge("off", color_scheme="gray", variant="soft"),
            )
        ),
        rx.table.cell(
            rx.hstack(
                for_admins(
                    rx.icon_button(
                        rx.icon("pencil", size=14),
                        size="1",
                        variant="ghost",
                        on_click=State.open_edit(policy.id),
                        aria_label="Edit " + policy.name,
                        type="button",
                    )
                ),
                for_admins(
                    rx.icon_button(
                        rx.icon("trash-2", size=14),
                        size="1",
                        variant="ghost",
                        color_scheme="red",
                        on_click=State.ask_delete(policy.id, policy.name),
                        aria_label="Delete " + policy.name,
                        type="button",
                    )
                ),
                spacing="3",
            )
        ),
        data_testid="message-policy-row",
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *(
                        rx.table.column_header_cell(name)
                        for name in ("Name", "Subjects", "Scope", "Action", "Rule", "Enabled")
                    ),
                    rx.table.column_header_cell("Actions", width="5rem"),
                )
            ),
            rx.table.body(rx.foreach(State.policies, _row)),
            variant="surface",
            width="100%",
        ),
        width="100%",
        overflow_x="auto",
    )


def _judge_selector() -> rx.Component:
    """The one judge model every judged policy uses (the API keeps it; the config file may set it too)."""
    return rx.flex(
        rx.el.label("Judge model", html_for="judge-model", font_size="var(--font-size-2)", font_weight="500"),
        rx.select.root(
            rx.select.trigger(id="judge-model", aria_label="Judge model", data_testid="judge-model"),
            rx.select.content(
                rx.foreach(
                    State.judge_choices,
                    lambda name: rx.select.item(rx.cond(name == NO_JUDGE, "None", name), value=name),
                )
            ),
            value=State.judge_choice,
            on_change=State.set_judge_model,
            disabled=~AuthState.is_admin,
        ),
        rx.cond(
            State.judge_model == "",
            rx.text("Judged policies fail (on_judge_error) until one is set.", size="1", color_scheme="amber"),
        ),
        spacing="2",
        align="center",
        wrap="wrap",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.text(
                "Rules on what users send (their messages, system prompts), what tools return, and the tool calls "
                "models make: block, redact or only record what matches a pattern or what a judge model flags.",
                size="2",
                color_scheme="gray",
                max_width="44rem",
            ),
            rx.spacer(),
            for_admins(
                rx.button(rx.icon("plus", size=16), "New message policy", on_click=State.open_create, type="button")
            ),
            spacing="3",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        _judge_selector(),
        rx.cond(
            State.loading,
            loading_state("Loading message policies…"),
            rx.cond(
                State.policies.length() > 0,
                _table(),
                empty_state(
                    "message-square-warning",
                    "No message policies yet",
                    "Requests go through unchecked. Create one to redact cloud keys or block what a judge flags.",
                    test_id="message-policies-empty",
                ),
            ),
        ),
        message_policy_form_dialog(),
        confirm_dialog(
            is_open=State.confirm_open,
            title="Delete this message policy?",
            description="It stops applying at once: " + State.confirm_name,
            confirm_label="Delete policy",
            on_confirm=State.confirm,
            on_cancel=State.cancel_confirm,
            busy=State.confirming,
        ),
        spacing="4",
        width="100%",
    )


@gateway_page(route=routes.MESSAGE_POLICIES, title="Message Policies", on_load=[State.load])
def message_policies_page() -> rx.Component:
    return admin_page(_content())
