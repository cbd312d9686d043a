"""Users & Groups page state (admins): the user and group lists, the create / edit user dialog, deactivation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

import reflex as rx

from gateway_ui.api import ApiError
from gateway_ui.api.users import Group, User
from gateway_ui.state.api_session import UiEvent, failure_event, session_api
from gateway_ui.state.auth import AuthState
from gateway_ui.state.base import ConfirmState, FormState
from gateway_ui.state.unpickled import without_secrets

ROLES = ("user", "admin", "auditor")
DEFAULT_ROLE = "user"
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


def user_row(user: User, my_email: str) -> UserRow:
    return UserRow(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        groups=list(user.groups),
        active=user.active,
        is_me=user.email == my_email,
    )


def group_row(group: Group) -> GroupRow:
    return GroupRow(id=group.id, name=group.name, member_count=len(group.members))


class UsersState(FormState, ConfirmState, rx.State):
    """The create / edit dialog is the form (edit_id 0: creating); deactivating a user is the confirmation."""

    users: list[UserRow] = rx.field(default_factory=list)
    groups: list[GroupRow] = rx.field(default_factory=list)
    loading: bool = True
    forbidden: bool = False

    edit_id: int = 0
    form_email: str = ""
    form_name: str = ""
    form_password: str = ""
    form_role: str = DEFAULT_ROLE
    form_groups: list[str] = rx.field(default_factory=list)

    form_active: bool = True

    confirm_failure: ClassVar[str] = "Could not deactivate the user"

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without form_password (state/unpickled.py)."""
        return without_secrets(super().__getstate__(), ("form_password",))

    @rx.var
    def group_names(self) -> list[str]:
        return [group.name for group in self.groups]

    # -- loading -------------------------------------------------------------------------------------

    @rx.event
    async def load(self) -> AsyncIterator[UiEvent]:
        auth = await self.get_state(AuthState)
        # Non-admins get the "not authorised" page without asking the API (which would refuse them anyway).
        self.forbidden = not auth.can_read_admin_pages
        if self.forbidden:
            self.loading = False
            return
        self.loading = True
        yield
        api = await session_api(self)
        try:
            users = await api.users.list()
            groups = await api.groups.list()
        except ApiError as exc:
            self.forbidden = exc.status_code == 403
            yield failure_event(exc, "Could not load users and groups")
            return
        finally:
            self.loading = False
        self.users = [user_row(user, auth.user_email) for user in users]
        self.groups = [group_row(group) for group in groups]

    # -- create / edit user --------------------------------------------------------------------------

    def _fill_form(self, user: UserRow | None) -> None:
        self.edit_id = user.id if user else 0
        self.form_email = user.email if user else ""
        self.form_name = user.name if user else ""
        self.form_password = ""
        self.form_role = user.role if user else DEFAULT_ROLE
        self.form_groups = list(user.groups) if user else []
        self.form_active = user.active if user else True

    def _clear_inputs(self) -> None:
        self.form_password = ""  # never keep a typed password around

    @rx.event
    def open_create_user(self) -> None:
        self._fill_form(None)
        self._open_form()

    @rx.event
    def open_edit_user(self, user_id: int) -> None:
        user = next((u for u in self.users if u.id == user_id), None)
        if user is None:
            return
        self._fill_form(user)
        self._open_form()

    @rx.event
    def set_form_email(self, value: str) -> None:
        self.form_email = value
        self._forget_error("email")

    @rx.event
    def set_form_name(self, value: str) -> None:
        self.form_name = value
        self._forget_error("name")

    @rx.event
    def set_form_password(self, value: str) -> None:
        self.form_password = value
        self._forget_error("password")

    @rx.event
    def set_form_role(self, value: str) -> None:
        self.form_role = value
        self._forget_error("role")

    @rx.event
    def set_form_active(self, value: bool) -> None:
        self.form_active = value

    @rx.event
    def toggle_form_group(self, name: str) -> None:
        if name in self.form_groups:
            self.form_groups = [g for g in self.form_groups if g != name]
        else:
            self.form_groups = [*self.form_groups, name]
        self._forget_error("groups")

    async def _save(self) -> User:
        api = await session_api(self)
        name = self.form_name.strip()
        if self.edit_id == 0:
            return await api.users.create(
                email=self.form_email.strip(),
                password=self.form_password or None,
                name=name,
                role=self.form_role,
                groups=self.form_groups,
            )
        return await api.users.update(
            self.edit_id,
            name=name,
            role=self.form_role,
            groups=self.form_groups,
            active=self.form_active,
            password=self.form_password or None,  # empty: unchanged
        )

    @rx.event
    async def save_user(self) -> AsyncIterator[UiEvent]:
        self._start_submit()
        yield
        creating = self.edit_id == 0
        try:
            saved = await self._save()
        except ApiError as exc:
            # The only conflict creating a user can meet: the email is taken.
            yield self._form_failed(exc, USER_FORM_FIELDS, conflict_field="email" if creating else "")
            return
        finally:
            self.submitting = False
        self.close_form()
        yield rx.toast.success(f"User {saved.email} {'created' if creating else 'updated'}")
        yield UsersState.load

    # -- deactivate / reactivate ---------------------------------------------------------------------

    @rx.event
    def ask_deactivate(self, user_id: int, email: str) -> None:
        self._ask_confirm(user_id, email)

    async def _confirmed(self, item_id: int, name: str) -> list[UiEvent]:
        api = await session_api(self)
        await api.users.deactivate(item_id)
        return [rx.toast.success(f"{name} deactivated; their keys stopped working"), UsersState.load]

    @rx.event
    async def reactivate(self, user_id: int, email: str) -> AsyncIterator[UiEvent]:
        api = await session_api(self)
        try:
            await api.users.update(user_id, active=True)
        except ApiError as exc:
            yield failure_event(exc, "Could not reactivate the user")
            return
        yield rx.toast.success(f"{email} reactivated")
        yield UsersState.load
