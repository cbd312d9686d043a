"""The create / edit policy dialog: name, subjects (all users, or users and groups), models and patterns."""

from __future__ import annotations

import reflex as rx

from gateway_ui.components.form_field import field_message, form_error, form_field
from gateway_ui.state.policies import ModelEntry, PoliciesState


def _error(name: str) -> rx.Var[str]:
    return PoliciesState.field_errors.get(name, "").to(str)


def _field_error(name: str) -> rx.Component:
    return field_message(_error(name), f"policy-{name}")


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
    picker = rx.vstack(
        rx.input(
            placeholder="Search users and groups…",
            value=PoliciesState.subject_search,
            on_change=PoliciesState.set_subject_search,
            aria_label="Search users and groups",
            width="100%",
        ),
        rx.scroll_area(
            rx.vstack(
                _check_list(
                    PoliciesState.matching_groups, PoliciesState.chosen_groups, PoliciesState.toggle_group, "users"
                ),
                _check_list(
                    PoliciesState.matching_users, PoliciesState.chosen_users, PoliciesState.toggle_user, "user"
                ),
                spacing="2",
                padding_right="0.75rem",
            ),
            type="auto",
            scrollbars="vertical",
            max_height="10rem",
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
                rx.radio_group.item(value="everyone", id="audience-everyone"),
                rx.el.label("All users", html_for="audience-everyone", font_size="var(--font-size-2)"),
                rx.radio_group.item(value="some", id="audience-some", margin_left="1rem"),
                rx.el.label("Specific users and groups", html_for="audience-some", font_size="var(--font-size-2)"),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            value=rx.cond(PoliciesState.everyone, "everyone", "some"),
            on_change=PoliciesState.set_audience,
        ),
        rx.cond(PoliciesState.everyone, rx.fragment(), picker),
        _field_error("subjects"),
        spacing="2",
        width="100%",
    )


def _chosen_model(entry: ModelEntry) -> rx.Component:
    return rx.badge(
        rx.code(entry.value, variant="ghost"),
        rx.cond(entry.note != "", rx.text(entry.note, size="1", color_scheme="gray")),
        rx.icon_button(
            rx.icon("x", size=12),
            size="1",
            variant="ghost",
            color_scheme="gray",
            on_click=PoliciesState.remove_model(entry.value),
            aria_label="Remove " + entry.value,
            type="button",
        ),
        variant="surface",
        color_scheme="gray",
        data_testid="chosen-model",
        max_width="100%",
    )


def _pattern_adder() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.input(
                placeholder="A model name, or a prefix like claude-*",
                value=PoliciesState.pattern,
                on_change=PoliciesState.set_pattern,
                debounce_timeout=250,
                aria_label="Model name or pattern",
                flex="1",
                min_width="12rem",
                data_testid="pattern-input",
            ),
            rx.button("Add", variant="soft", on_click=PoliciesState.add_pattern, type="button"),
            spacing="2",
            width="100%",
        ),
        rx.cond(
            PoliciesState.pattern_error != "",
            rx.text(PoliciesState.pattern_error, size="1", color_scheme="red", role="alert"),
            rx.cond(
                PoliciesState.pattern_preview != "",
                rx.text(PoliciesState.pattern_preview, size="1", color_scheme="gray", data_testid="pattern-preview"),
            ),
        ),
        spacing="1",
        width="100%",
    )


def _models() -> rx.Component:
    picker = rx.vstack(
        rx.input(
            placeholder="Search models…",
            value=PoliciesState.model_search,
            on_change=PoliciesState.set_model_search,
            aria_label="Search models",
            width="100%",
        ),
        rx.scroll_area(
            rx.vstack(
                rx.foreach(
                    PoliciesState.matching_models,
                    lambda name: rx.checkbox(
                        rx.text(name, word_break="break-all"),
                        checked=PoliciesState.chosen_model_values.contains(name),
                        on_change=lambda _checked: PoliciesState.toggle_model(name),
                    ),
                ),
                spacing="2",
                padding_right="0.75rem",
            ),
            type="auto",
            scrollbars="vertical",
            max_height="10rem",
        ),
        spacing="2",
        width="100%",
        padding="0.5rem",
        border="1px solid var(--gray-a5)",
        border_radius="var(--radius-2)",
    )
    return rx.vstack(
        rx.text("Models", size="2", weight="medium"),
        rx.flex(rx.foreach(PoliciesState.chosen_models, _chosen_model), spacing="1", wrap="wrap", width="100%"),
        _pattern_adder(),
        picker,
        _field_error("models"),
        spacing="2",
        width="100%",
    )


def policy_form_dialog() -> rx.Component:
    form = rx.vstack(
        form_field(
            "Name",
            rx.input(
                id="policy-name",
                value=PoliciesState.form_name,
                on_change=PoliciesState.set_form_name,
                width="100%",
            ),
            _error("name"),
            html_for="policy-name",
            test_id="policy-name",
        ),
        _subjects(),
        _models(),
        form_error(PoliciesState.form_error),
        rx.flex(
            rx.button("Cancel", variant="soft", color_scheme="gray", type="button", on_click=PoliciesState.close_form),
            rx.button(
                rx.cond(PoliciesState.editing_id > 0, "Save policy", "Create policy"),
                on_click=PoliciesState.submit,
                loading=PoliciesState.submitting,
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
            rx.dialog.title(rx.cond(PoliciesState.editing_id > 0, "Edit policy", "New policy")),
            form,
            max_width="36rem",
            data_testid="policy-dialog",
        ),
        open=PoliciesState.form_open,
        on_open_change=PoliciesState.set_form_open,
    )
