"""Model Access Policies page state: the list, the create/edit form with live pattern previews, deletion."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import ClassVar

import reflex as rx

from gateway_ui.api import ApiError
from gateway_ui.api.policies import Policy
from gateway_ui.state.api_session import UiEvent, failure_event, session_api
from gateway_ui.state.auth import AuthState
from gateway_ui.state.base import ConfirmState, FormState

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
    subject_entries: list[str] = field(default_factory=list)  # as the API has them, for the edit form
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


def policy_row(policy: Policy) -> PolicyRow:
    return PolicyRow(
        id=policy.id,
        name=policy.name,
        subjects=[subject_chip(s) for s in policy.subjects],
        subject_entries=list(policy.subjects),
        models=list(policy.models),
    )


class PoliciesState(FormState, ConfirmState, rx.State):
    """The create / edit dialog is the form (editing_id 0: a new policy); deleting a policy is the confirmation."""

    policies: list[PolicyRow] = rx.field(default_factory=list)
    loading: bool = True

    # Choices for the form.
    user_emails: list[str] = rx.field(default_factory=list)
    group_names: list[str] = rx.field(default_factory=list)
    model_names: list[str] = rx.field(default_factory=list)

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

    confirm_failure: ClassVar[str] = "Could not delete the policy"

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
    async def load(self) -> AsyncIterator[UiEvent]:
        auth = await self.get_state(AuthState)
        if auth.user_role not in (
            "admin",
            "auditor",
        ):  # the page shows the admins-only notice; the API would refuse anyway
            return
        api = await session_api(self)
        try:
            policies, users, groups, models = await asyncio.gather(
                api.policies.list(), api.users.list(), api.groups.list(), api.models.list()
            )
        except ApiError as exc:
            self.loading = False
            yield failure_event(exc, "Could not load policies")
            return
        self.policies = [policy_row(p) for p in policies]
        self.user_emails = sorted(u.email for u in users if u.active)
        self.group_names = sorted(g.name for g in groups)
        self.model_names = sorted({m.name for m in models})
        self.loading = False

    # -- the form -------------------------------------------------------------------------------------

    def _clear_inputs(self) -> None:
        self.subject_search = self.model_search = self.pattern = self.pattern_preview = self.pattern_error = ""

    @rx.event
    def open_create(self) -> None:
        self._clear_inputs()
        self.editing_id = 0
        self.form_name = ""
        self.everyone = False
        self.chosen_users, self.chosen_groups, self.chosen_models = [], [], []
        self._open_form()

    @rx.event
    async def open_edit(self, policy_id: int) -> AsyncIterator[UiEvent]:
        policy = next((p for p in self.policies if p.id == policy_id), None)
        if policy is None:
            return
        self._clear_inputs()
        self.editing_id = policy_id
        self.form_name = policy.name
        subjects = policy.subject_entries
        self.everyone = subjects == [EVERYONE]
        self.chosen_users = [s.partition(":")[2] for s in subjects if s.startswith("user:")]
        self.chosen_groups = [s.partition(":")[2] for s in subjects if s.startswith("group:")]
        self.chosen_models = [ModelEntry(value=m) for m in policy.models]
        self._open_form()
        yield
        await self._annotate_patterns()

    @rx.event
    def set_form_name(self, value: str) -> None:
        self.form_name = value
        self._forget_error("name")

    @rx.event
    def set_audience(self, value: str | list[str]) -> None:
        self.everyone = value == "everyone"
        self._forget_error("subjects")

    @rx.event
    def set_subject_search(self, value: str) -> None:
        self.subject_search = value

    @rx.event
    def set_model_search(self, value: str) -> None:
        self.model_search = value

    @rx.event
    def toggle_user(self, email: str) -> None:
        self.chosen_users = _toggled(self.chosen_users, email)
        self._forget_error("subjects")

    @rx.event
    def toggle_group(self, name: str) -> None:
        self.chosen_groups = _toggled(self.chosen_groups, name)
        self._forget_error("subjects")

    @rx.event
    def toggle_model(self, name: str) -> None:
        if name in self.chosen_model_values:
            self.chosen_models = [e for e in self.chosen_models if e.value != name]
        else:
            self.chosen_models = [*self.chosen_models, ModelEntry(value=name)]
        self._forget_error("models")

    @rx.event
    def remove_model(self, value: str) -> None:
        self.chosen_models = [e for e in self.chosen_models if e.value != value]
        self._forget_error("models")

    async def _preview(self, pattern: str) -> tuple[str, str]:
        """(match text, error) for one entry, from the API's own matching."""
        api = await session_api(self)
        try:
            preview = await api.policies.preview(pattern)
        except ApiError as exc:
            return "", exc.field_errors.get("pattern", exc.message)
        return match_text(preview.count), ""

    async def _annotate_patterns(self) -> None:
        patterns = [e.value for e in self.chosen_models if is_pattern(e.value)]
        notes = await asyncio.gather(*(self._preview(p) for p in patterns))
        found = {p: text or error for p, (text, error) in zip(patterns, notes, strict=True)}
        self.chosen_models = [ModelEntry(value=e.value, note=found.get(e.value, "")) for e in self.chosen_models]

    @rx.event
    async def set_pattern(self, value: str) -> None:
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
    async def add_pattern(self) -> None:
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
            self._forget_error("models")
        self.pattern = self.pattern_preview = self.pattern_error = ""

    @rx.event
    async def submit(self) -> AsyncIterator[UiEvent]:
        subjects = (
            [EVERYONE]
            if self.everyone
            else [f"user:{u}" for u in self.chosen_users] + [f"group:{g}" for g in self.chosen_groups]
        )
        name = self.form_name.strip()
        self._start_submit()
        yield
        api = await session_api(self)
        editing = self.editing_id
        try:
            if editing:
                await api.policies.update(editing, name=name, subjects=subjects, models=self.chosen_model_values)
            else:
                await api.policies.create(name=name, subjects=subjects, models=self.chosen_model_values)
        except ApiError as exc:
            yield self._form_failed(exc, conflict_field="name")
            return
        finally:
            self.submitting = False
        self.close_form()
        yield rx.toast.success(f'Policy "{name}" {"saved" if editing else "created"}')
        yield PoliciesState.load

    # -- deletion -------------------------------------------------------------------------------------

    @rx.event
    def ask_delete(self, policy_id: int, name: str) -> None:
        self._ask_confirm(policy_id, name)

    async def _confirmed(self, item_id: int, name: str) -> list[UiEvent]:
        api = await session_api(self)
        await api.policies.delete(item_id)
        return [rx.toast.success(f'Policy "{name}" deleted'), PoliciesState.load]


def _toggled(values: list[str], value: str) -> list[str]:
    return [v for v in values if v != value] if value in values else [*values, value]
