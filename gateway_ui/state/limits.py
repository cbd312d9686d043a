"""The usage-limits dialog's state: one user's or one key's overrides (admins edit; a key's owner may look).

Each field is typed as text and sent as-is (empty: inherit); the API validates and its 422 names the field.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from gateway_ui import api_client
from gateway_ui.state.api_session import failure_event, session_token
from gateway_ui.state.auth import AuthState

# (API field, label) in the order the dialog shows them.
LIMIT_FIELDS: tuple[tuple[str, str], ...] = (
    ("input_token_quota", "Input token quota"),
    ("output_token_quota", "Output token quota"),
    ("requests_per_minute", "Requests per minute"),
    ("daily_budget_usd", "Daily budget (USD)"),
    ("monthly_budget_usd", "Monthly budget (USD)"),
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


def effective_hints(effective: list[dict[str, Any]], subject: str) -> dict[str, str]:
    """Per field: the limit in force now and its source, so an empty (inheriting) field says what it inherits."""
    hints: dict[str, str] = {}
    for entry in effective:
        limit = entry.get("limit")
        if limit is None:
            hints[str(entry["kind"])] = "In effect: unlimited"
        else:
            hints[str(entry["kind"])] = (
                f"In effect: {limit_text(limit)} ({source_phrase(entry.get('source'), subject)})"
            )
    return hints


def overrides_request(values: dict[str, str]) -> dict[str, str | None]:
    """The PUT body: every field, empty ones as null (inherit); the API parses and range-checks the rest."""
    return {name: (values.get(name, "").strip() or None) for name in FIELD_NAMES}


class LimitsState(rx.State):
    dialog_open: bool = False
    subject: str = SUBJECT_USER
    subject_id: int = 0
    subject_label: str = ""
    can_edit: bool = False
    loading: bool = False
    saving: bool = False
    token_window_hours: str = ""
    values: dict[str, str] = rx.field(default_factory=dict)
    hints: dict[str, str] = rx.field(default_factory=dict)
    field_errors: dict[str, str] = rx.field(default_factory=dict)
    form_error: str = ""

    def _apply(self, body: dict[str, Any]) -> None:
        overrides = body.get("overrides") or {}
        self.values = {name: limit_text(overrides.get(name)) for name in FIELD_NAMES}
        self.hints = effective_hints(list(body.get("effective") or []), self.subject)
        self.token_window_hours = limit_text(body.get("token_window_hours"))

    async def _open(self, subject: str, subject_id: int, label: str):
        auth = await self.get_state(AuthState)
        self.subject, self.subject_id, self.subject_label = subject, subject_id, label
        self.can_edit = auth.is_admin
        self.values, self.hints, self.field_errors = {}, {}, {}
        self.form_error = self.token_window_hours = ""
        self.dialog_open = True
        self.loading = True
        yield
        try:
            if subject == SUBJECT_USER:
                body = await api_client.get_user_limits(auth.token, subject_id)
            else:
                body = await api_client.get_key_limits(auth.token, subject_id)
        except api_client.ApiError as exc:
            self.dialog_open = False
            yield failure_event(exc, "Could not load the limits")
            return
        finally:
            self.loading = False
        self._apply(body)

    @rx.event
    async def open_for_user(self, user_id: int, email: str):
        async for update in self._open(SUBJECT_USER, user_id, email):
            yield update

    @rx.event
    async def open_for_key(self, key_id: int, label: str):
        async for update in self._open(SUBJECT_KEY, key_id, label):
            yield update

    @rx.event
    def set_dialog_open(self, is_open: bool) -> None:
        self.dialog_open = is_open

    @rx.event
    def set_value(self, name: str, value: str) -> None:
        self.values = {**self.values, name: value}

    @rx.event
    async def save(self):
        if not self.can_edit:
            return
        self.field_errors = {}
        self.form_error = ""
        self.saving = True
        yield
        body = overrides_request(self.values)
        try:
            token = await session_token(self)
            if self.subject == SUBJECT_USER:
                saved = await api_client.set_user_limits(token, self.subject_id, body)
            else:
                saved = await api_client.set_key_limits(token, self.subject_id, body)
        except api_client.ApiError as exc:
            self.field_errors = {f: m for f, m in exc.field_errors.items() if f in FIELD_NAMES}
            if not self.field_errors:
                self.form_error = exc.message
            yield failure_event(exc, "Could not save the limits")
            return
        finally:
            self.saving = False
        self._apply(saved)
        self.dialog_open = False
        yield rx.toast.success(f"Limits saved for {self.subject_label}")
