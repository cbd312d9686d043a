"""Model Access Policies page state: the list, the create/edit form with live pattern previews, deletion."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from gateway_ui import api_client
from gateway_ui.state.api_session import failure_event, session_token
from gateway_ui.state.auth import AuthState

EVERYONE = "*"
NO_MATCH_TEXT = "No current matches - applies to future models"


def match_text(count: int) -> str:
    if count <= 0:
        return NO_MATCH_TEXT
    return f"Matches {count} model{'s' if count != 1 else ''}"


def is_pattern(entry: str) -> bool:
    return entry.endswith("*")


@dataclass
class SubjectChip:
    kind: str = ""  # everyone | user | group
    label: str = ""


@dataclass
class PolicyRow:
    id: int = 0
    name: str = ""
    subjects: list[SubjectChip] = field(default_factory=list)
    models: list[str] = field(default_factory=list)


@dataclass
class ModelEntry:
    value: str = ""
    note: str = ""  # for patterns: what they match now


def subject_chip(subject: str) -> SubjectChip:
    if subject == EVERYONE:
        return SubjectChip(kind="everyone", label="All users")
    kind, _, name = subject.partition(":")
    return SubjectChip(kind=kind, label=name)


def policy_row(policy: dict[str, Any]) -> PolicyRow:
    return PolicyRow(
        id=int(policy["id"]),
        name=str(policy["name"]),
        subjects=[subject_chip(str(s)) for s in policy["subjects"]],
        models=[str(m) for m in policy["models"]],
    )


class PoliciesState(rx.State):
    policies: list[PolicyRow] = rx.field(default_factory=list)
    raw_policies: list[dict[str, Any]] = rx.field(default_factory=list)
    loading: bool = True

    # Choices for the form.
    user_emails: list[str] = rx.field(default_factory=list)
    group_names: list[str] = rx.field(default_factory=list)
    model_names: list[str] = rx.field(default_factory=list)

    # The form (editing_id 0: a new policy).
    form_open: bool = False
    editing_id: int = 0
    form_name: str = ""
    everyone: bool = False
    chosen_users: list[str] = rx.field(default_factory=list)
    chosen_groups: list[str] = rx.field(default_factory=list)
    chosen_models: list[ModelEntry] = rx.field(default_factory=list)
    subject_search: str = ""
    model_search: str = ""
    pattern: str = ""
    pattern_preview: str = ""  # the live "Matches N models" for what is typed
    pattern_error: str = ""
    form_errors: dict[str, str] = rx.field(default_factory=dict)
    saving: bool = False

    delete_id: int = 0
    delete_name: str = ""

    # -- derived --------------------------------------------------------------------------------------

    @rx.var
    def matching_users(self) -> list[str]:
        needle = self.subject_search.strip().lower()
        return [email for email in self.user_emails if needle in email.lower()]

    @rx.var
    def matching_groups(self) -> list[str]:
        needle = self.subject_search.strip().lower()
        return [name for name in self.group_names if needle in name.lower()]

    @rx.var
    def matching_models(self) -> list[str]:
        needle = self.model_search.strip().lower()
        return [name for name in self.model_names if needle in name.lower()]

    @rx.var
    def chosen_model_values(self) -> list[str]:
        return [entry.value for entry in self.chosen_models]

    # -- loading --------------------------------------------------------------------------------------

    @rx.event
    async def load(self):
        auth = await self.get_state(AuthState)
        if auth.user_role != "admin":  # the page shows the admins-only notice; the API would refuse anyway
            return
        token = auth.token
        try:
            policies, users, groups, models = await asyncio.gather(
                api_client.list_policies(token),
                api_client.list_users(token),
                api_client.list_groups(token),
                api_client.list_models(token),
            )
        except api_client.ApiError as exc:
            self.loading = False
            yield failure_event(exc, "Could not load policies")
            return
        self.raw_policies = policies
        self.policies = [policy_row(p) for p in policies]
        self.user_emails = sorted(str(u["email"]) for u in users if u.get("active", True))
        self.group_names = sorted(str(g["name"]) for g in groups)
        self.model_names = sorted({str(m["name"]) for m in models})
        self.loading = False

    # -- the form -------------------------------------------------------------------------------------

    def _reset_form(self) -> None:
        self.form_errors = {}
        self.subject_search = self.model_search = self.pattern = self.pattern_preview = self.pattern_error = ""
        self.saving = False

    @rx.event
    def open_create(self) -> None:
        self._reset_form()
        self.editing_id = 0
        self.form_name = ""
        self.everyone = False
        self.chosen_users, self.chosen_groups, self.chosen_models = [], [], []
        self.form_open = True

    @rx.event
    async def open_edit(self, policy_id: int):
        policy = next((p for p in self.raw_policies if int(p["id"]) == policy_id), None)
        if policy is None:
            return
        self._reset_form()
        self.editing_id = policy_id
        self.form_name = str(policy["name"])
        subjects = [str(s) for s in policy["subjects"]]
        self.everyone = subjects == [EVERYONE]
        self.chosen_users = [s.partition(":")[2] for s in subjects if s.startswith("user:")]
        self.chosen_groups = [s.partition(":")[2] for s in subjects if s.startswith("group:")]
        self.chosen_models = [ModelEntry(value=str(m)) for m in policy["models"]]
        self.form_open = True
        yield
        await self._annotate_patterns()

    @rx.event
    def close_form(self) -> None:
        self.form_open = False
        self._reset_form()

    @rx.event
    def set_form_name(self, value: str) -> None:
        self.form_name = value

    @rx.event
    def set_audience(self, value: str | list[str]) -> None:
        self.everyone = value == "everyone"

    @rx.event
    def set_subject_search(self, value: str) -> None:
        self.subject_search = value

    @rx.event
    def set_model_search(self, value: str) -> None:
        self.model_search = value

    @rx.event
    def toggle_user(self, email: str) -> None:
        self.chosen_users = _toggled(self.chosen_users, email)

    @rx.event
    def toggle_group(self, name: str) -> None:
        self.chosen_groups = _toggled(self.chosen_groups, name)

    @rx.event
    def toggle_model(self, name: str) -> None:
        if name in self.chosen_model_values:
            self.chosen_models = [e for e in self.chosen_models if e.value != name]
        else:
            self.chosen_models = [*self.chosen_models, ModelEntry(value=name)]

    @rx.event
    def remove_model(self, value: str) -> None:
        self.chosen_models = [e for e in self.chosen_models if e.value != value]

    async def _preview(self, pattern: str) -> tuple[str, str]:
        """(match text, error) for one entry, from the API's own matching."""
        token = await session_token(self)
        try:
            answer = await api_client.preview_model_pattern(token, pattern)
        except api_client.ApiError as exc:
            return "", exc.field_errors.get("pattern", exc.message)
        return match_text(int(answer["count"])), ""

    async def _annotate_patterns(self) -> None:
        patterns = [e.value for e in self.chosen_models if is_pattern(e.value)]
        notes = await asyncio.gather(*(self._preview(p) for p in patterns))
        found = {p: text or error for p, (text, error) in zip(patterns, notes, strict=True)}
        self.chosen_models = [ModelEntry(value=e.value, note=found.get(e.value, "")) for e in self.chosen_models]

    @rx.event
    async def set_pattern(self, value: str):
        """Typed pattern: ask the API live what it matches now."""
        self.pattern = value
        typed = value.strip()
        if not typed:
            self.pattern_preview = self.pattern_error = ""
            return
        text, error = await self._preview(typed)
        if self.pattern.strip() == typed:  # a newer keystroke already asked again
            self.pattern_preview, self.pattern_error = text, error

    @rx.event
    async def add_pattern(self):
        typed = self.pattern.strip()
        if not typed:
            self.pattern_error = "Type a model name or a prefix ending in *"
            return
        text, error = await self._preview(typed)
        if error:
            self.pattern_error = error
            return
        if typed not in self.chosen_model_values:
            note = text if is_pattern(typed) else ""
            self.chosen_models = [*self.chosen_models, ModelEntry(value=typed, note=note)]
        self.pattern = self.pattern_preview = self.pattern_error = ""

    @rx.event
    async def submit(self):
        subjects = (
            [EVERYONE]
            if self.everyone
            else [f"user:{u}" for u in self.chosen_users] + [f"group:{g}" for g in self.chosen_groups]
        )
        fields = {"name": self.form_name.strip(), "subjects": subjects, "models": self.chosen_model_values}
        self.saving = True
        self.form_errors = {}
        yield
        token = await session_token(self)
        editing = self.editing_id
        try:
            if editing:
                await api_client.update_policy(token, editing, fields)
            else:
                await api_client.create_policy(token, fields)
        except api_client.ApiError as exc:
            self.saving = False
            self.form_errors = exc.field_errors or {"form": exc.message}
            if exc.is_unauthorized:
                yield failure_event(exc, "Could not save the policy")
            return
        self.form_open = False
        self._reset_form()
        yield rx.toast.success(f'Policy "{fields["name"]}" {"saved" if editing else "created"}')
        async for update in self.load():
            yield update

    # -- deletion -------------------------------------------------------------------------------------

    @rx.event
    def ask_delete(self, policy_id: int, name: str) -> None:
        self.delete_id, self.delete_name = policy_id, name

    @rx.event
    def cancel_delete(self) -> None:
        self.delete_id, self.delete_name = 0, ""

    @rx.event
    async def confirm_delete(self):
        policy_id, name = self.delete_id, self.delete_name
        self.saving = True
        yield
        token = await session_token(self)
        try:
            await api_client.delete_policy(token, policy_id)
        except api_client.ApiError as exc:
            self.saving = False
            yield failure_event(exc, "Could not delete the policy")
            return
        self.saving = False
        self.cancel_delete()
        yield rx.toast.success(f'Policy "{name}" deleted')
        async for update in self.load():
            yield update


def _toggled(values: list[str], value: str) -> list[str]:
    return [v for v in values if v != value] if value in values else [*values, value]
