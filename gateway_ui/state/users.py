"""Users & Groups page state (admins): users with role, groups and active flag; groups with create/delete."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import reflex as rx

from gateway_ui import api_client
from gateway_ui.state.api_session import failure_event, session_token
from gateway_ui.state.auth import AuthState

ROLES = ("user", "admin")
# Request fields whose validation messages the user dialog shows next to its inputs.
USER_FORM_FIELDS = ("email", "name", "password", "role", "groups")


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    name: str
    role: str
    groups: list[str]
    active: bool
    is_me: bool


@dataclass(frozen=True)
class GroupRow:
    id: int
    name: str
    member_count: int


def user_row(user: dict[str, Any], my_email: str) -> UserRow:
    return UserRow(
        id=int(user["id"]),
        email=str(user["email"]),
        name=str(user["name"]),
        role=str(user["role"]),
        groups=[str(g) for g in user["groups"]],
        active=bool(user["active"]),
        is_me=str(user["email"]) == my_email,
    )


def group_row(group: dict[str, Any]) -> GroupRow:
    return GroupRow(id=int(group["id"]), name=str(group["name"]), member_count=len(group["members"]))


class UsersState(rx.State):
    users: list[UserRow] = rx.field(default_factory=list)
    groups: list[GroupRow] = rx.field(default_factory=list)
    loading: bool = True
    forbidden: bool = False

    # The create / edit dialog (edit_id 0: creating).
    dialog_open: bool = False
    edit_id: int = 0
    form_email: str = ""
    form_name: str = ""
    form_password: str = ""
    form_role: str = "user"
    form_groups: list[str] = rx.field(default_factory=list)
    form_active: bool = True
    field_errors: dict[str, str] = rx.field(default_factory=dict)
    form_error: str = ""
    saving: bool = False

    deactivate_id: int = 0
    deactivate_email: str = ""
    deactivating: bool = False

    new_group_name: str = ""
    group_name_error: str = ""
    creating_group: bool = False
    delete_group_id: int = 0
    delete_group_name: str = ""
    deleting_group: bool = False

    @rx.var
    def group_names(self) -> list[str]:
        return [group.name for group in self.groups]

    # -- loading -------------------------------------------------------------------------------------

    @rx.event
    async def load(self):
        auth = await self.get_state(AuthState)
        # Non-admins get the "not authorised" page without asking the API (which would refuse them anyway).
        self.forbidden = not auth.is_admin
        if self.forbidden:
            self.loading = False
            return
        self.loading = True
        yield
        try:
            users = await api_client.list_users(auth.token)
            groups = await api_client.list_groups(auth.token)
        except api_client.ApiError as exc:
            self.forbidden = exc.status_code == 403
            yield failure_event(exc, "Could not load users and groups")
            return
        finally:
            self.loading = False
        self.users = [user_row(user, auth.user_email) for user in users]
        self.groups = [group_row(group) for group in groups]

    # -- create / edit user --------------------------------------------------------------------------

    def _reset_form(self) -> None:
        self.field_errors = {}
        self.form_error = ""
        self.form_email = self.form_name = self.form_password = ""
        self.form_role = "user"
        self.form_groups = []
        self.form_active = True

    @rx.event
    def open_create_user(self) -> None:
        self._reset_form()
        self.edit_id = 0
        self.dialog_open = True

    @rx.event
    def open_edit_user(self, user_id: int) -> None:
        user = next((u for u in self.users if u.id == user_id), None)
        if user is None:
            return
        self._reset_form()
        self.edit_id = user.id
        self.form_email = user.email
        self.form_name = user.name
        self.form_role = user.role
        self.form_groups = list(user.groups)
        self.form_active = user.active
        self.dialog_open = True

    @rx.event
    def set_dialog_open(self, is_open: bool) -> None:
        self.dialog_open = is_open
        if not is_open:
            self.form_password = ""  # never keep a typed password around

    @rx.event
    def set_form_email(self, value: str) -> None:
        self.form_email = value

    @rx.event
    def set_form_name(self, value: str) -> None:
        self.form_name = value

    @rx.event
    def set_form_password(self, value: str) -> None:
        self.form_password = value

    @rx.event
    def set_form_role(self, value: str) -> None:
        self.form_role = value

    @rx.event
    def set_form_active(self, value: bool) -> None:
        self.form_active = value

    @rx.event
    def toggle_form_group(self, name: str) -> None:
        if name in self.form_groups:
            self.form_groups = [g for g in self.form_groups if g != name]
        else:
            self.form_groups = [*self.form_groups, name]

    def _user_request(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.form_name.strip(), "role": self.form_role, "groups": self.form_groups}
        if self.edit_id == 0:
            body["email"] = self.form_email.strip()
            body["password"] = self.form_password or None
        else:
            body["active"] = self.form_active
            if self.form_password:
                body["password"] = self.form_password
        return body

    @rx.event
    async def save_user(self):
        self.field_errors = {}
        self.form_error = ""
        self.saving = True
        yield
        creating = self.edit_id == 0
        try:
            token = await session_token(self)
            if creating:
                saved = await api_client.create_user(token, self._user_request())
            else:
                saved = await api_client.update_user(token, self.edit_id, self._user_request())
        except api_client.ApiError as exc:
            errors = {f: m for f, m in exc.field_errors.items() if f in USER_FORM_FIELDS}
            if creating and exc.status_code == 409:
                errors["email"] = exc.message  # the only create conflict: the email is taken
            self.field_errors = errors
            if not errors:
                self.form_error = exc.message
            yield failure_event(exc, "Could not save the user")
            return
        finally:
            self.saving = False
        self.dialog_open = False
        self.form_password = ""
        yield rx.toast.success(f"User {saved['email']} {'created' if creating else 'updated'}")
        yield UsersState.load

    # -- deactivate / reactivate ---------------------------------------------------------------------

    @rx.event
    def ask_deactivate(self, user_id: int, email: str) -> None:
        self.deactivate_id = user_id
        self.deactivate_email = email

    @rx.event
    def cancel_deactivate(self) -> None:
        self.deactivate_id = 0

    @rx.event
    async def confirm_deactivate(self):
        self.deactivating = True
        yield
        try:
            await api_client.deactivate_user(await session_token(self), self.deactivate_id)
        except api_client.ApiError as exc:
            yield failure_event(exc, "Could not deactivate the user")
            return
        finally:
            self.deactivating = False
            self.deactivate_id = 0
        yield rx.toast.success(f"{self.deactivate_email} deactivated; their keys stopped working")
        yield UsersState.load

    @rx.event
    async def reactivate(self, user_id: int, email: str):
        try:
            await api_client.update_user(await session_token(self), user_id, {"active": True})
        except api_client.ApiError as exc:
            yield failure_event(exc, "Could not reactivate the user")
            return
        yield rx.toast.success(f"{email} reactivated")
        yield UsersState.load

    # -- groups --------------------------------------------------------------------------------------

    @rx.event
    def set_new_group_name(self, value: str) -> None:
        self.new_group_name = value

    @rx.event
    async def create_group(self):
        self.group_name_error = ""
        self.creating_group = True
        yield
        try:
            group = await api_client.create_group(await session_token(self), self.new_group_name.strip())
        except api_client.ApiError as exc:
            self.group_name_error = exc.field_errors.get("name", exc.message)
            yield failure_event(exc, "Could not create the group")
            return
        finally:
            self.creating_group = False
        self.new_group_name = ""
        yield rx.toast.success(f"Group {group['name']} created")
        yield UsersState.load

    @rx.event
    def ask_delete_group(self, group_id: int, name: str) -> None:
        self.delete_group_id = group_id
        self.delete_group_name = name

    @rx.event
    def cancel_delete_group(self) -> None:
        self.delete_group_id = 0

    @rx.event
    async def confirm_delete_group(self):
        self.deleting_group = True
        yield
        try:
            await api_client.delete_group(await session_token(self), self.delete_group_id)
        except api_client.ApiError as exc:
            yield failure_event(exc, "Could not delete the group")
            return
        finally:
            self.deleting_group = False
            self.delete_group_id = 0
        yield rx.toast.success(f"Group {self.delete_group_name} deleted")
        yield UsersState.load
