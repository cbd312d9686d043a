"""Users & Groups page: creating a group (a form inline on the page) and deleting one; the lists are UsersState's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

import reflex as rx

from gateway_ui.api import ApiError
from gateway_ui.state.api_session import UiEvent, session_api
from gateway_ui.state.base import ConfirmState, FormState
from gateway_ui.state.users import UsersState

GROUP_NAME_FIELD = "name"


class GroupsState(FormState, ConfirmState, rx.State):
    new_group_name: str = ""

    confirm_failure: ClassVar[str] = "Could not delete the group"

    @rx.event
    def set_new_group_name(self, value: str) -> None:
        self.new_group_name = value
        self._forget_error(GROUP_NAME_FIELD)

    @rx.event
    async def create_group(self) -> AsyncIterator[UiEvent]:
        self._start_submit()
        yield
        api = await session_api(self)
        try:
            group = await api.groups.create(self.new_group_name.strip())
        except ApiError as exc:
            # The name is the form's only input, so every failure is shown under it.
            if GROUP_NAME_FIELD not in exc.field_errors and not exc.is_unauthorized:
                exc = exc.for_field(GROUP_NAME_FIELD)
            yield self._form_failed(exc, (GROUP_NAME_FIELD,))
            return
        finally:
            self.submitting = False
        self.new_group_name = ""
        yield rx.toast.success(f"Group {group.name} created")
        yield UsersState.load

    @rx.event
    def ask_delete_group(self, group_id: int, name: str) -> None:
        self._ask_confirm(group_id, name)

    async def _confirmed(self, item_id: int, name: str) -> list[UiEvent]:
        api = await session_api(self)
        await api.groups.delete(item_id)
        return [rx.toast.success(f"Group {name} deleted"), UsersState.load]
