"""Users & Groups page (admins): create users, set role, groups and active; create and delete groups."""

from __future__ import annotations

import reflex as rx

from gateway_ui import routes
from gateway_ui.components.admin_only import admin_page, for_admins
from gateway_ui.components.confirm_dialog import confirm_dialog
from gateway_ui.components.form_field import form_error, form_field
from gateway_ui.components.layout import gateway_page
from gateway_ui.components.limits_dialog import limits_button, limits_dialog
from gateway_ui.components.list_states import empty_state, loading_state
from gateway_ui.state.groups import GroupsState
from gateway_ui.state.limits import LimitsState
from gateway_ui.state.users import ROLES, GroupRow, UserRow, UsersState


def _field_error(field: str) -> rx.Var[str]:
    return UsersState.field_errors.get(field, "")


def _role_badge(role: rx.Var[str]) -> rx.Component:
    scheme = rx.match(role, ("admin", "violet"), ("auditor", "amber"), "gray")
    return rx.badge(role, color_scheme=scheme, variant="soft")


def _user_row(user: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.text(user.email, weight="medium"),
                rx.cond(user.is_me, rx.badge("you", variant="outline", size="1")),
                align="center",
                wrap="wrap",
            )
        ),
        rx.table.cell(user.name),
        rx.table.cell(_role_badge(user.role), data_testid="user-role"),
        rx.table.cell(
            rx.hstack(
                rx.foreach(user.groups, lambda name: rx.badge(name, variant="surface", color_scheme="gray")),
                wrap="wrap",
                spacing="1",
            ),
            data_testid="user-groups",
        ),
        rx.table.cell(
            rx.cond(
                user.active,
                rx.badge("active", color_scheme="green", variant="soft"),
                rx.badge("inactive", color_scheme="gray", variant="soft"),
            ),
            data_testid="user-status",
        ),
        rx.table.cell(
            rx.hstack(
                for_admins(
                    rx.button(
                        rx.icon("pencil", size=14),
                        "Edit",
                        size="1",
                        variant="soft",
                        on_click=UsersState.open_edit_user(user.id),
                    )
                ),
                limits_button(LimitsState.open_for_user(user.id, user.email)),
                rx.cond(
                    user.active,
                    rx.cond(
                        ~user.is_me,
                        for_admins(
                            rx.button(
                                rx.icon("user-x", size=14),
                                "Deactivate",
                                size="1",
                                variant="soft",
                                color_scheme="red",
                                on_click=UsersState.ask_deactivate(user.id, user.email),
                            )
                        ),
                    ),
                    for_admins(
                        rx.button(
                            rx.icon("user-check", size=14),
                            "Reactivate",
                            size="1",
                            variant="soft",
                            color_scheme="green",
                            on_click=UsersState.reactivate(user.id, user.email),
                        )
                    ),
                ),
                justify="end",
                spacing="2",
            ),
        ),
        align="center",
        data_testid=f"user-row-{user.email}",
    )


def _users_section() -> rx.Component:
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                *[rx.table.column_header_cell(label) for label in ("Email", "Name", "Role", "Groups", "Status")],
                rx.table.column_header_cell(aria_label="Actions"),
            )
        ),
        rx.table.body(rx.foreach(UsersState.users, _user_row)),
        variant="surface",
        width="100%",
        data_testid="users-table",
    )
    return rx.vstack(
        rx.hstack(
            rx.heading("Users", size="4"),
            rx.spacer(),
            for_admins(rx.button(rx.icon("user-plus", size=16), "Create user", on_click=UsersState.open_create_user)),
            align="center",
            width="100%",
        ),
        rx.cond(
            UsersState.loading & (UsersState.users.length() == 0),
            loading_state("Loading users…"),
            rx.cond(
                UsersState.users.length() > 0,
                table,
                empty_state("users", "No users", "Create the first user account.", test_id="no-users"),
            ),
        ),
        spacing="3",
        width="100%",
    )


def _role_choice() -> rx.Component:
    return rx.radio_group.root(
        rx.hstack(
            *[
                rx.el.label(
                    rx.hstack(
                        rx.radio_group.item(value=role, aria_label=role.capitalize()),
                        rx.text(role.capitalize(), size="2"),
                        align="center",
                        spacing="2",
                    )
                )
                for role in ROLES
            ],
            spacing="4",
        ),
        value=UsersState.form_role,
        on_change=UsersState.set_form_role,
    )


def _group_choices() -> rx.Component:
    return rx.cond(
        UsersState.groups.length() > 0,
        rx.flex(
            rx.foreach(
                UsersState.group_names,
                lambda name: rx.checkbox(
                    name,
                    checked=UsersState.form_groups.contains(name),
                    on_change=lambda _checked: UsersState.toggle_form_group(name),
                ),
            ),
            wrap="wrap",
            gap="0.5rem 1rem",
        ),
        rx.text("No groups yet: create them under Groups below.", size="2", color_scheme="gray"),
    )


def _user_form() -> rx.Component:
    creating = UsersState.edit_id == 0
    return rx.form(
        rx.vstack(
            rx.cond(
                creating,
                form_field(
                    "Email",
                    rx.input(
                        id="user-email",
                        value=UsersState.form_email,
                        on_change=UsersState.set_form_email,
                        type="email",
                        width="100%",
                    ),
                    _field_error("email"),
                    html_for="user-email",
                    test_id="user-email",
                ),
            ),
            form_field(
                "Name",
                rx.input(id="user-name", value=UsersState.form_name, on_change=UsersState.set_form_name, width="100%"),
                _field_error("name"),
                html_for="user-name",
                test_id="user-name",
            ),
            form_field(
                rx.cond(creating, "Password", "New password"),
                rx.input(
                    id="user-password",
                    value=UsersState.form_password,
                    on_change=UsersState.set_form_password,
                    type="password",
                    auto_complete="new-password",
                    width="100%",
                ),
                _field_error("password"),
                html_for="user-password",
                hint="At least 8 characters. Leave empty to keep it unchanged (or, for a new user, to allow no "
                "password sign-in).",
                test_id="user-password",
            ),
            form_field("Role", _role_choice(), _field_error("role"), test_id="user-role"),
            form_field("Groups", _group_choices(), _field_error("groups"), test_id="user-groups"),
            rx.cond(
                ~creating,
                rx.el.label(
                    rx.hstack(
                        rx.switch(checked=UsersState.form_active, on_change=UsersState.set_form_active),
                        rx.text("Active (inactive users cannot sign in and their keys stop working)", size="2"),
                        align="center",
                    )
                ),
            ),
            form_error(UsersState.form_error),
            rx.hstack(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                rx.button(
                    rx.cond(creating, "Create user", "Save changes"), type="submit", loading=UsersState.submitting
                ),
                justify="end",
                width="100%",
            ),
            spacing="4",
            width="100%",
        ),
        on_submit=lambda _form: UsersState.save_user,
        reset_on_submit=False,
        # The API validates (and its messages appear by each field); the browser's own bubbles would pre-empt it.
        no_validate=True,
    )


def _user_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(UsersState.edit_id == 0, "Create a user", "Edit user")),
            rx.dialog.description(
                rx.cond(UsersState.edit_id == 0, "They sign in with this email and password.", UsersState.form_email),
                size="2",
                margin_bottom="1rem",
            ),
            _user_form(),
            max_width="32rem",
            data_testid="user-dialog",
        ),
        open=UsersState.form_open,
        on_open_change=UsersState.set_form_open,
    )


def _group_row(group: GroupRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(group.name, weight="medium")),
        rx.table.cell(group.member_count, data_testid="group-members"),
        rx.table.cell(
            for_admins(
                rx.button(
                    rx.icon("trash-2", size=14),
                    "Delete",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=GroupsState.ask_delete_group(group.id, group.name),
                )
            ),
            justify="end",
        ),
        align="center",
        data_testid=f"group-row-{group.name}",
    )


def _groups_section() -> rx.Component:
    create_form = rx.form(
        rx.hstack(
            rx.box(
                form_field(
                    "New group",
                    rx.input(
                        id="group-name",
                        value=GroupsState.new_group_name,
                        on_change=GroupsState.set_new_group_name,
                        placeholder="e.g. engineering",
                        width="100%",
                    ),
                    GroupsState.field_errors.get("name", ""),
                    html_for="group-name",
                    test_id="group-name",
                ),
                flex="1",
                min_width="12rem",
            ),
            rx.button("Create group", type="submit", loading=GroupsState.submitting, margin_top="1.5rem"),
            align="start",
            wrap="wrap",
            width="100%",
        ),
        on_submit=lambda _form: GroupsState.create_group,
        reset_on_submit=False,
        width="100%",
    )
    table = rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell("Group"),
                rx.table.column_header_cell("Members"),
                rx.table.column_header_cell(aria_label="Actions"),
            )
        ),
        rx.table.body(rx.foreach(UsersState.groups, _group_row)),
        variant="surface",
        width="100%",
        data_testid="groups-table",
    )
    return rx.vstack(
        rx.heading("Groups", size="4"),
        rx.text("Policies can grant models to a group; add members by editing users.", size="2", color_scheme="gray"),
        for_admins(create_form),
        rx.cond(
            UsersState.loading & (UsersState.groups.length() == 0),
            loading_state("Loading groups…"),
            rx.cond(
                UsersState.groups.length() > 0,
                table,
                empty_state(
                    "users-round", "No groups", "Create a group to grant models to a team.", test_id="no-groups"
                ),
            ),
        ),
        spacing="3",
        width="100%",
    )


def _dialogs() -> rx.Component:
    return rx.fragment(
        _user_dialog(),
        limits_dialog(),
        confirm_dialog(
            is_open=UsersState.confirm_open,
            title="Deactivate this user?",
            description=rx.text(
                rx.text.strong(UsersState.confirm_name),
                " can no longer sign in, and every key of theirs stops working at once. "
                "Their usage history is kept; you can reactivate them later.",
            ),
            confirm_label="Deactivate",
            on_confirm=UsersState.confirm,
            on_cancel=UsersState.cancel_confirm,
            busy=UsersState.confirming,
            test_id="deactivate-dialog",
        ),
        confirm_dialog(
            is_open=GroupsState.confirm_open,
            title="Delete this group?",
            description=rx.text(
                "Group ",
                rx.text.strong(GroupsState.confirm_name),
                " and its memberships go away. A group that a policy still names cannot be deleted.",
            ),
            confirm_label="Delete group",
            on_confirm=GroupsState.confirm,
            on_cancel=GroupsState.cancel_confirm,
            busy=GroupsState.confirming,
            test_id="delete-group-dialog",
        ),
    )


@gateway_page(route=routes.USERS, title="Users & Groups", on_load=[UsersState.load])
def users_page() -> rx.Component:
    return admin_page(
        rx.vstack(_users_section(), rx.divider(), _groups_section(), _dialogs(), spacing="6", width="100%"),
        allowed=~UsersState.forbidden,
    )
