"""The usage-limits dialog's state: one user's or one key's overrides (admins edit; a key's owner may look).

Each field is typed as text and sent as-is (empty: inherit); the API validates and its 422 names the field.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import reflex as rx

from gateway_ui.api import ApiError
from gateway_ui.api.limits import EffectiveLimit, Limits
from gateway_ui.state.api_session import UiEvent, failure_event, session_api
from gateway_ui.state.auth import AuthState
from gateway_ui.state.base import FormState

# (API field, label) in the order the dialog shows them.
LIMIT_FIELDS: tuple[tuple[str, str], ...] = (
    ("input_token_quota", "Input token quota"),
    ("output_token_quota", "Output token quota"),
    ("requests_per_minute", "Requests per minute"),
    ("daily_budget_usd", "Daily budget (USD)"),
    ("monthly_budget_usd", "Monthly budget (USD)"),
    ("max_concurrent_calls", "Concurrent calls"),
)
FIELD_NAMES = tuple(name for name, _label in LIMIT_FIELDS)
SUBJECT_USER = "user"
SUBJECT_KEY = "api_key"


def limit_text(value: float | None) -> str:
    """A limit as typed in a form: whole numbers without a trailing ".0"; None as empty (inherit)."""
    if value is None:
        return ""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def source_phrase(source: str | None, subject: str) -> str:
    """Where an effective limit comes from, worded for the dialog of `subject`."""
    if source == "key":
        return "this key's own limit"
    if source == "user":
        return "this user's own limit" if subject == SUBJECT_USER else "inherited from the key's owner"
    return "the gateway default"


def effective_hints(effective: Sequence[EffectiveLimit], subject: str) -> dict[str, str]:
    """Per field: the limit in force now and its source, so an empty (inheriting) field says what it inherits."""
    hints: dict[str, str] = {}
    for entry in effective:
        if entry.limit is None:
            hints[entry.kind] = "In effect: unlimited"
        else:
            hints[entry.kind] = f"In effect: {limit_text(entry.limit)} ({source_phrase(entry.source, subject)})"
    return hints


def overrides_request(values: dict[str, str]) -> dict[str, str | None]:
    """The PUT body: every field, empty ones as null (inherit); the API parses and range-checks the rest."""
    return {name: (values.get(name, "").strip() or None) for name in FIELD_NAMES}


class LimitsState(FormState, rx.State):
    subject: str = SUBJECT_USER
    subject_id: int = 0
    subject_label: str = ""
    can_edit: bool = False
    loading: bool = False
    token_window_hours: str = ""
    values: dict[str, str] = rx.field(default_factory=dict)
    hints: dict[str, str] = rx.field(default_factory=dict)

    def _apply(self, limits: Limits) -> None:
        self.values = {name: limit_text(limits.overrides.get(name)) for name in FIELD_NAMES}
        self.hints = effective_hints(limits.effective, self.subject)
        self.token_window_hours = limit_text(limits.token_window_hours)

    async def _open(self, subject: str, subject_id: int, label: str) -> AsyncIterator[UiEvent]:
        auth = await self.get_state(AuthState)
        self.subject, self.subject_id, self.subject_label = subject, subject_id, label
        self.can_edit = auth.is_admin
        self.values, self.hints = {}, {}
        self.token_window_hours = ""
        self._open_form()
        self.loading = True
        yield
        api = await session_api(self)
        try:
            if subject == SUBJECT_USER:
                limits = await api.limits.of_user(subject_id)
            else:
                limits = await api.limits.of_key(subject_id)
        except ApiError as exc:
            self.form_open = False
            yield failure_event(exc, "Could not load the limits")
            return
        finally:
            self.loading = False
        self._apply(limits)

    @rx.event
    async def open_for_user(self, user_id: int, email: str) -> AsyncIterator[UiEvent]:
        async for update in self._open(SUBJECT_USER, user_id, email):
            yield update

    @rx.event
    async def open_for_key(self, key_id: int, label: str) -> AsyncIterator[UiEvent]:
        async for update in self._open(SUBJECT_KEY, key_id, label):
            yield update

    @rx.event
    def set_value(self, name: str, value: str) -> None:
        self.values = {**self.values, name: value}
        self._forget_error(name)

    @rx.event
    async def save(self) -> AsyncIterator[UiEvent]:
        if not self.can_edit:
            return
        self._start_submit()
        yield
        body = overrides_request(self.values)
        api = await session_api(self)
        try:
            if self.subject == SUBJECT_USER:
                saved = await api.limits.set_for_user(self.subject_id, body)
            else:
                saved = await api.limits.set_for_key(self.subject_id, body)
        except ApiError as exc:
            yield self._form_failed(exc, FIELD_NAMES)
            return
        finally:
            self.submitting = False
        self._apply(saved)
        self.close_form()
        yield rx.toast.success(f"Limits saved for {self.subject_label}")
