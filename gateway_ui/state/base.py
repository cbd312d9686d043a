"""What every page's dialogs share: a form's submit and error handling, and a confirmation's pending item.

Both are Reflex state mixins: each page state that inherits one gets its own copy of the vars and event handlers
below, so one page state can have a form and a confirmation, and two pages never share either. A page state
names rx.State among its bases too (`class KeysState(FormState, ConfirmState, rx.State)`): a class whose state
bases are all mixins is a mixin itself, and Reflex would never register it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from typing import ClassVar

import reflex as rx

from gateway_ui.api import ApiError
from gateway_ui.api.messages import sentence
from gateway_ui.state.api_session import UiEvent, failure_event

CONFLICT = 409


class FormState(rx.State, mixin=True):
    """A form (mostly in a dialog): open or not, submitting or not, the API's messages by field and for the form.

    Every form follows one pattern: a submit handler calls `_start_submit`, yields once so the button shows it is
    busy, calls the API and on ApiError yields `_form_failed(exc, fields)`; it resets `submitting` in a `finally`.
    Each invalid field shows its message beside it (components/form_field.py), all at once; editing a field clears
    its message (`clear_field_error`); nothing about a field goes to a toast.
    """

    form_open: bool = False
    submitting: bool = False
    field_errors: dict[str, str] = rx.field(default_factory=dict)
    form_error: str = ""

    def _clear_errors(self) -> None:
        self.field_errors = {}
        self.form_error = ""

    def _open_form(self) -> None:
        self._clear_errors()
        self.submitting = False
        self.form_open = True

    def _clear_inputs(self) -> None:
        """What a form forgets when it closes besides its messages: what was typed, above all a password or a
        new key's secret. A page state overrides it."""

    @rx.event
    def close_form(self) -> None:
        self.form_open = False
        self.submitting = False
        self._clear_errors()
        self._clear_inputs()

    @rx.event
    def set_form_open(self, is_open: bool) -> None:
        """A dialog's open-change: these dialogs open from page buttons, so the only change they report is closing."""
        if not is_open:
            self.close_form()

    @rx.event
    def clear_field_error(self, field: str) -> None:
        """The person is changing `field`: its message no longer describes what is typed, so it goes."""
        self._forget_error(field)

    def _forget_error(self, field: str) -> None:
        if field in self.field_errors:
            self.field_errors = {name: text for name, text in self.field_errors.items() if name != field}

    def _start_submit(self) -> None:
        self._clear_errors()
        self.submitting = True

    def _set_field_errors(self, errors: dict[str, str]) -> None:
        """Messages the form found itself, before asking the API (an empty required field, a number that is not one)."""
        self.field_errors = {field: sentence(text) for field, text in errors.items()}
        self.form_error = ""

    def _show_errors(self, exc: ApiError, fields: Collection[str] | None = None, *, conflict_field: str = "") -> None:
        """The API's validation messages next to the form's `fields` (None: every field it names); messages about
        anything else, or the API's one message, above the form's buttons. A 409 is `conflict_field`'s problem
        (a name or an email that is taken) when the form names one."""
        if conflict_field and exc.status_code == CONFLICT:
            exc = exc.for_field(conflict_field)
        self.field_errors = {
            field: sentence(message) for field, message in exc.field_errors.items() if fields is None or field in fields
        }
        others = [
            f"{field}: {message}" for field, message in exc.field_errors.items() if field not in self.field_errors
        ]
        self.form_error = sentence(" ".join(others) if others else "" if self.field_errors else exc.message)

    def _form_failed(
        self, exc: ApiError, fields: Collection[str] | None = None, *, conflict_field: str = ""
    ) -> UiEvent:
        """Show a failed submit in the form; the only event that follows is the way back to sign-in when the
        session has ended (a toast would repeat what the form already says, and pile up)."""
        self._show_errors(exc, fields, conflict_field=conflict_field)
        return failure_event(exc, "") if exc.is_unauthorized else None


class ConfirmState(rx.State, mixin=True):
    """A confirmation dialog for one destructive action on one item: the item, open / cancel, and the action.

    `confirm_id` 0 means no dialog. A page state implements `_confirmed`, which does the action and returns what
    follows it; `confirm` runs it with the dialog's button busy, closes the dialog and toasts a failure.
    """

    confirm_id: int = 0
    confirm_name: str = ""  # what the dialog names: an email, a key's name, a policy
    confirming: bool = False

    # How a failed action's toast starts ("Could not delete the group"). A page state sets its own, declared as
    # ClassVar there too: a plain class attribute would become a state var.
    confirm_failure: ClassVar[str] = "Could not do that"

    @rx.var
    def confirm_open(self) -> bool:
        return self.confirm_id != 0

    def _ask_confirm(self, item_id: int, name: str) -> None:
        self.confirm_id = item_id
        self.confirm_name = name

    @rx.event
    def cancel_confirm(self) -> None:
        self.confirm_id = 0

    async def _confirmed(self, item_id: int, name: str) -> list[UiEvent]:
        """Do the confirmed action; return the events that follow it (a toast, a reload). ApiError means it failed."""
        raise NotImplementedError

    @rx.event
    async def confirm(self) -> AsyncIterator[UiEvent]:
        item_id, name = self.confirm_id, self.confirm_name
        self.confirming = True
        yield
        try:
            follow_ups = await self._confirmed(item_id, name)
        except ApiError as exc:
            follow_ups = [failure_event(exc, self.confirm_failure)]
        finally:
            self.confirming = False
            self.confirm_id = 0
        for event in follow_ups:
            yield event
