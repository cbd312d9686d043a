"""The create / edit message policy dialog: name, subjects, scope, action, the rule (a pattern with built-in sets, or
a judge's natural-language rule), the fail choices, and a "try it" box that runs a sample through the form's policy."""

from __future__ import annotations

import reflex as rx

from gateway_ui.components.form_field import field_message, form_error, form_field
from gateway_ui.state.message_policies import MessagePoliciesState as State
from gateway_ui.state.message_policy_views import ACTIONS, FAIL_CHOICES, SCOPE_LABELS, SCOPES

ACTION_HINTS = {
    "block": "Block: nothing is forwarded; the client is told which policy blocked it.",
    "redact": "Redact: matches become [REDACTED:<policy>] before forwarding (pattern rules only).",
    "monitor": "Monitor: forwarded unchanged, the violation recorded.",
}
JUDGE_MAX_CHARS = 2000
PATTERN_MAX_CHARS = 1000


def _error(name: str) -> rx.Var[str]:
    return State.field_errors.get(name, "").to(str)


def _field_error(name: str) -> rx.Component:
    return field_message(_error(name), f"message-policy-{name.replace('_', '-')}")


def _check_list(
    items: rx.Var[list[str]], chosen: rx.Var[list[str]], on_toggle: rx.EventHandler, icon: str
) -> rx.Component:
    return rx.foreach(
        items,
        lambda item: rx.checkbox(
            rx.hstack(rx.icon(icon, size=12), rx.text(item, word_break="break-all"), align="center", spacing="1"),
            checked=chosen.contains(item),
            on_change=lambda _checked: on_toggle(item),
        ),
    )


def _subjects() -> rx.Component:
    """The access policies' subject picker: all users, or users and groups ticked from a searchable list."""
    picker = rx.vstack(
        rx.input(
            placeholder="Search users and groups…",
            value=State.subject_search,
            on_change=State.set_subject_search,
            aria_label="Search users and groups",
            width="100%",
        ),
        rx.scroll_area(
            rx.vstack(
                _check_list(State.matching_groups, State.chosen_groups, State.toggle_group, "users"),
                _check_list(State.matching_users, State.chosen_users, State.toggle_user, "user"),
                spacing="2",
                padding_right="0.75rem",
            ),
            type="auto",
            scrollbars="vertical",
            max_height="8rem",
        ),
        spacing="2",
        width="100%",
        padding="0.5rem",
        border="1px solid var(--gray-a5)",
        border_radius="var(--radius-2)",
    )
    return rx.vstack(
        rx.text("Subjects", size="2", weight="medium"),
        rx.radio_group.root(
            rx.flex(
                rx.radio_group.item(value="everyone", id="mp-audience-everyone"),
                rx.el.label("All users", html_for="mp-audience-everyone", font_size="var(--font-size-2)"),
                rx.radio_group.item(value="some", id="mp-audience-some", margin_left="1rem"),
                rx.el.label("Specific users and groups", html_for="mp-audience-some", font_size="var(--font-size-2)"),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            value=rx.cond(State.everyone, "everyone", "some"),
            on_change=State.set_audience,
        ),
        rx.cond(State.everyone, rx.fragment(), picker),
        _field_error("subjects"),
        spacing="2",
        width="100%",
    )


def _scope() -> rx.Component:
    return rx.vstack(
        rx.text("Scope", size="2", weight="medium"),
        rx.flex(
            *(
                rx.checkbox(
                    SCOPE_LABELS[scope],
                    checked=State.chosen_scope.contains(scope),
                    on_change=lambda _checked, scope=scope: State.toggle_scope(scope),
                )
                for scope in SCOPES
            ),
            spacing="4",
            wrap="wrap",
        ),
        _field_error("scope"),
        spacing="2",
        width="100%",
    )


def _select(
    label: str, value: rx.Var[str], on_change: rx.EventHandler, choices: tuple[str, ...], field: str
) -> rx.Component:
    test_id = f"message-policy-{field.replace('_', '-')}"
    return form_field(
        label,
        rx.select(list(choices), value=value, on_change=on_change, id=test_id, aria_label=label, data_testid=test_id),
        _error(field),
        html_for=test_id,
        test_id=test_id,
    )


def _builtin_option(name: rx.Var[str]) -> rx.Component:
    return rx.checkbox(
        rx.hstack(
            rx.code(name, variant="ghost"),
            rx.text(State.builtin_descriptions.get(name, "").to(str), size="1", color_scheme="gray"),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        checked=State.chosen_builtins.contains(name),
        on_change=lambda _checked: State.toggle_builtin(name),
    )


def _pattern_rule() -> rx.Component:
    return rx.vstack(
        form_field(
            "Pattern (regular expression, RE2 syntax)",
            rx.input(
                id="message-policy-pattern",
                value=State.pattern,
                on_change=State.set_pattern,
                placeholder="AKIA[0-9A-Z]{16}",
                max_length=PATTERN_MAX_CHARS,
                font_family="var(--code-font-family)",
                width="100%",
            ),
            _error("pattern"),
            html_for="message-policy-pattern",
            test_id="message-policy-pattern",
        ),
        rx.text("Built-in sets", size="2", weight="medium"),
        rx.vstack(rx.foreach(State.builtin_names, _builtin_option), spacing="2", width="100%"),
        _field_error("builtins"),
        spacing="2",
        width="100%",
    )


def _judge_rule() -> rx.Component:
    return rx.vstack(
        rx.cond(
            State.judge_model == "",
            rx.callout(
                "No judge model is set (above the table): a judged policy then fails, and on_judge_error decides.",
                icon="triangle-alert",
                color_scheme="amber",
                size="1",
                data_testid="no-judge-warning",
            ),
        ),
        form_field(
            "Rule for the judge",
            rx.text_area(
                id="message-policy-judge",
                value=State.judge_text,
                on_change=State.set_judge_text,
                placeholder="Block requests for a medical diagnosis or for treatment advice.",
                max_length=JUDGE_MAX_CHARS,
                rows="3",
                width="100%",
            ),
            _error("judge"),
            html_for="message-policy-judge",
            hint="Natural language; the judge model decides whether content breaks it.",
            test_id="message-policy-judge",
        ),
        spacing="2",
        width="100%",
    )


def _rule() -> rx.Component:
    return rx.vstack(
        rx.text("Rule", size="2", weight="medium"),
        rx.segmented_control.root(
            rx.segmented_control.item("Pattern", value="pattern"),
            rx.segmented_control.item("Judge", value="judge"),
            value=State.rule_kind,
            on_change=State.set_rule_kind,
            data_testid="message-policy-rule-kind",
        ),
        rx.cond(State.rule_kind == "judge", _judge_rule(), _pattern_rule()),
        _field_error("rule"),
        spacing="2",
        width="100%",
        padding="0.75rem",
        border="1px solid var(--gray-a5)",
        border_radius="var(--radius-2)",
    )


def _try_it() -> rx.Component:
    verdict = rx.cond(
        State.try_headline != "",
        rx.callout(
            rx.vstack(
                rx.text(State.try_headline, weight="bold", data_testid="try-verdict"),
                rx.cond(
                    State.try_explanation != "",
                    rx.text(State.try_explanation, size="2", data_testid="try-explanation"),
                ),
                rx.cond(
                    State.try_redacted != "",
                    rx.el.pre(
                        State.try_redacted,
                        white_space="pre-wrap",
                        word_break="break-word",
                        font_size="0.8rem",
                        margin="0",
                        data_testid="try-redacted",
                    ),
                ),
                spacing="1",
            ),
            icon=rx.match(State.try_tone, ("green", "circle-check"), ("amber", "circle-help"), "octagon-alert"),
            color_scheme=rx.match(State.try_tone, ("green", "green"), ("amber", "amber"), "red"),
            size="1",
            width="100%",
            data_testid="try-result",
        ),
    )
    return rx.el.details(
        rx.el.summary("Try it on a sample text", font_size="var(--font-size-2)", font_weight="500", cursor="pointer"),
        rx.vstack(
            rx.text_area(
                value=State.try_text,
                on_change=State.set_try_text,
                placeholder="Paste what a user might send, or a tool's output…",
                aria_label="Sample text",
                rows="3",
                width="100%",
                data_testid="try-text",
            ),
            rx.flex(
                rx.select(
                    list(SCOPES),
                    value=State.try_scope,
                    on_change=State.set_try_scope,
                    aria_label="Sample scope",
                    data_testid="try-scope",
                ),
                rx.button(
                    rx.icon("flask-conical", size=14),
                    "Try it",
                    variant="soft",
                    on_click=State.try_policy,
                    loading=State.trying,
                    type="button",
                ),
                spacing="2",
                align="center",
            ),
            rx.cond(
                State.try_error != "",
                rx.text(State.try_error, size="1", color_scheme="red", role="alert", data_testid="try-error"),
            ),
            verdict,
            spacing="2",
            width="100%",
            padding_top="0.5rem",
        ),
        open=True,
        width="100%",
    )


def message_policy_form_dialog() -> rx.Component:
    form = rx.vstack(
        form_field(
            "Name",
            rx.input(id="message-policy-name", value=State.form_name, on_change=State.set_form_name, width="100%"),
            _error("name"),
            html_for="message-policy-name",
            test_id="message-policy-name",
        ),
        _subjects(),
        _scope(),
        _select("Action", State.action, State.set_action, ACTIONS, "action"),
        rx.text(
            rx.match(State.action, *((action, hint) for action, hint in ACTION_HINTS.items()), ""),
            size="1",
            color_scheme="gray",
        ),
        _rule(),
        rx.flex(
            _select(
                "Content it cannot read", State.on_unreadable, State.set_on_unreadable, FAIL_CHOICES, "on_unreadable"
            ),
            _select(
                "If the judge fails", State.on_judge_error, State.set_on_judge_error, FAIL_CHOICES, "on_judge_error"
            ),
            spacing="4",
            width="100%",
        ),
        rx.el.label(
            rx.switch(checked=State.enabled, on_change=State.set_enabled),
            rx.text("Enabled", size="2"),
            display="flex",
            gap="0.5rem",
            align_items="center",
        ),
        _try_it(),
        form_error(State.form_error),
        rx.flex(
            rx.button("Cancel", variant="soft", color_scheme="gray", type="button", on_click=State.close_form),
            rx.button(
                rx.cond(State.editing_id > 0, "Save policy", "Create policy"),
                on_click=State.submit,
                loading=State.submitting,
                type="button",
            ),
            spacing="3",
            justify="end",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(State.editing_id > 0, "Edit message policy", "New message policy")),
            form,
            max_width="40rem",
            data_testid="message-policy-dialog",
        ),
        open=State.form_open,
        on_open_change=State.set_form_open,
    )
