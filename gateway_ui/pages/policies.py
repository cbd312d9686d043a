"""Model Access Policies (admin): who may call which models; create and edit in a form, delete with confirmation."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.admin_only import admin_page, for_admins
from gateway_ui.components.confirm_dialog import confirm_dialog
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.components.subject_badge import subject_badge
from gateway_ui.pages.policy_form import policy_form_dialog
from gateway_ui.state.policies import PoliciesState, PolicyRow


def _policy_row(policy: PolicyRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(policy.name, weight="medium", word_break="break-word")),
        rx.table.cell(rx.flex(rx.foreach(policy.subjects, subject_badge), spacing="1", wrap="wrap")),
        rx.table.cell(
            rx.flex(
                rx.foreach(policy.models, lambda m: rx.code(m, variant="soft", word_break="break-all")),
                spacing="1",
                wrap="wrap",
            )
        ),
        rx.table.cell(
            rx.hstack(
                for_admins(
                    rx.icon_button(
                        rx.icon("pencil", size=14),
                        size="1",
                        variant="ghost",
                        on_click=PoliciesState.open_edit(policy.id),
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
                        on_click=PoliciesState.ask_delete(policy.id, policy.name),
                        aria_label="Delete " + policy.name,
                        type="button",
                    )
                ),
                spacing="3",
            )
        ),
        data_testid="policy-row",
    )


def _table() -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Name"),
                    rx.table.column_header_cell("Subjects"),
                    rx.table.column_header_cell("Models"),
                    rx.table.column_header_cell("Actions", width="5rem"),
                )
            ),
            rx.table.body(rx.foreach(PoliciesState.policies, _policy_row)),
            variant="surface",
            width="100%",
        ),
        width="100%",
        overflow_x="auto",
    )


def _content() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.text(
                "A user may call a model when any policy names them (directly, by group or as all users) and the "
                "model. Patterns ending in * also grant models added later.",
                size="2",
                color_scheme="gray",
                max_width="44rem",
            ),
            rx.spacer(),
            for_admins(
                rx.button(rx.icon("plus", size=16), "New policy", on_click=PoliciesState.open_create, type="button")
            ),
            spacing="3",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        rx.cond(
            PoliciesState.loading,
            loading_state("Loading policies…"),
            rx.cond(
                PoliciesState.policies.length() > 0,
                _table(),
                empty_state(
                    "shield-check",
                    "No access policies yet",
                    "Nobody can call any model until a policy grants it. Create one for all users or a team.",
                    test_id="policies-empty",
                ),
            ),
        ),
        policy_form_dialog(),
        confirm_dialog(
            is_open=PoliciesState.confirm_open,
            title="Delete this policy?",
            description="Its grants end at once: " + PoliciesState.confirm_name,
            confirm_label="Delete policy",
            on_confirm=PoliciesState.confirm,
            on_cancel=PoliciesState.cancel_confirm,
            busy=PoliciesState.confirming,
        ),
        spacing="4",
        width="100%",
    )


@gateway_page(route=routes.POLICIES, title="Model Access Policies", on_load=[PoliciesState.load])
def policies_page() -> rx.Component:
    return admin_page(_content())
