"""Message Policies page state: the list, the judge model, the create / edit form with its "try it" box, deletion."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import ClassVar

import reflex as rx

from gateway_ui.api import ApiError
from gateway_ui.api.message_policies import MessagePolicyDraft
from gateway_ui.state import message_policy_views as views
from gateway_ui.state.api_session import UiEvent, failure_event, session_api
from gateway_ui.state.auth import AuthState
from gateway_ui.state.base import ConfirmState, FormState
from gateway_ui.state.message_policy_views import MessagePolicyRow
from gateway_ui.state.policies import EVERYONE

NO_JUDGE = "none"  # the judge selector's value for "no judge model" (a select item cannot have an empty value)


class MessagePoliciesState(FormState, ConfirmState, rx.State):
    """The create / edit dialog is the form (editing_id 0: a new policy); deleting a policy is the confirmation."""

    policies: list[MessagePolicyRow] = rx.field(default_factory=list)
    loading: bool = True

    # Choices for the form and the judge selector.
    user_emails: list[str] = rx.field(default_factory=list)
    group_names: list[str] = rx.field(default_factory=list)
    model_names: list[str] = rx.field(default_factory=list)
    builtin_names: list[str] = rx.field(default_factory=list)
    builtin_descriptions: dict[str, str] = rx.field(default_factory=dict)
    judge_model: str = ""  # empty: none configured, judged policies then fail per on_judge_error

    editing_id: int = 0
    form_name: str = ""
    everyone: bool = False
    chosen_users: list[str] = rx.field(default_factory=list)
    chosen_groups: list[str] = rx.field(default_factory=list)
    subject_search: str = ""
    chosen_scope: list[str] = rx.field(default_factory=list)
    action: str = "block"
    rule_kind: str = "pattern"
    pattern: str = ""
    chosen_builtins: list[str] = rx.field(default_factory=list)
    judge_text: str = ""
    on_unreadable: str = "block"
    on_judge_error: str = "block"
    enabled: bool = True

    # The "try it" box: a sample text run through the form's policy as it stands, nothing saved.
    try_text: str = ""
    try_scope: str = "user_messages"
    trying: bool = False
    try_headline: str = ""
    try_tone: str = ""
    try_explanation: str = ""
    try_redacted: str = ""
    try_error: str = ""

    confirm_failure: ClassVar[str] = "Could not delete the message policy"

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
    def judge_choice(self) -> str:
        return self.judge_model or NO_JUDGE

    @rx.var
    def judge_choices(self) -> list[str]:
        names = list(self.model_names)
        if self.judge_model and self.judge_model not in names:  # a model since deleted still shows what is set
            names.insert(0, self.judge_model)
        return [NO_JUDGE, *names]

    # -- loading --------------------------------------------------------------------------------------

    @rx.event
    async def load(self) -> AsyncIterator[UiEvent]:
        auth = await self.get_state(AuthState)
        if not auth.can_read_admin_pages:  # the page shows the admins-only notice; the API would refuse anyway
            return
        api = await session_api(self)
        try:
            policies, users, groups, models, builtins, judge = await asyncio.gather(
                api.message_policies.list(),
                api.users.list(),
                api.groups.list(),
                api.models.list(),
                api.message_policies.builtins(),
                api.message_policies.judge_model(),
            )
        except ApiError as exc:
            self.loading = False
            yield failure_event(exc, "Could not load message policies")
            return
        self.policies = [views.policy_row(p) for p in policies]
        self.user_emails = sorted(u.email for u in users if u.active)
        self.group_names = sorted(g.name for g in groups)
        self.model_names = sorted({m.name for m in models})
        self.builtin_names = [b.name for b in builtins]
        self.builtin_descriptions = {b.name: b.description for b in builtins}
        self.judge_model = judge or ""
        self.loading = False

    @rx.event
    async def set_judge_model(self, value: str) -> AsyncIterator[UiEvent]:
        chosen = None if value == NO_JUDGE else value
        api = await session_api(self)
        try:
            self.judge_model = await api.message_policies.set_judge_model(chosen) or ""
        except ApiError as exc:
            yield failure_event(exc, "Could not set the judge model")
            return
        yield rx.toast.success(f"Judge model: {self.judge_model or 'none'}")

    # -- the form -------------------------------------------------------------------------------------

    def _clear_inputs(self) -> None:
        self.subject_search = ""
        self.try_text = ""
        self._clear_verdict()

    def _clear_verdict(self) -> None:
        self.try_headline = self.try_tone = self.try_explanation = self.try_redacted = self.try_error = ""

    def _fill(self, row: MessagePolicyRow) -> None:
        self.editing_id = row.id
        self.form_name = row.name
        self.everyone = row.subject_entries == [EVERYONE]
        self.chosen_users = [s.partition(":")[2] for s in row.subject_entries if s.startswith("user:")]
        self.chosen_groups = [s.partition(":")[2] for s in row.subject_entries if s.startswith("group:")]
        self.chosen_scope = list(row.scope)
        self.action = row.action
        self.rule_kind = row.rule_kind
        self.pattern = row.pattern
        self.chosen_builtins = list(row.builtins)
        self.judge_text = row.judge
        self.on_unreadable = row.on_unreadable
        self.on_judge_error = row.on_judge_error
        self.enabled = row.enabled

    @rx.event
    def open_create(self) -> None:
        self._clear_inputs()
        self._fill(MessagePolicyRow(scope=["user_messages"], action="block", rule_kind="pattern"))
        self.try_scope = "user_messages"
        self._open_form()

    @rx.event
    def open_edit(self, policy_id: int) -> None:
        row = next((p for p in self.policies if p.id == policy_id), None)
        if row is None:
            return
        self._clear_inputs()
        self._fill(row)
        self.try_scope = row.scope[0] if row.scope else "user_messages"
        self._open_form()

    def _edited(self, field: str) -> None:
        """An input changed: its message goes, and so does a verdict about the policy as it was."""
        self._forget_error(field)
        self._clear_verdict()

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
    def toggle_user(self, email: str) -> None:
        self.chosen_users = _toggled(self.chosen_users, email)
        self._forget_error("subjects")

    @rx.event
    def toggle_group(self, name: str) -> None:
        self.chosen_groups = _toggled(self.chosen_groups, name)
        self._forget_error("subjects")

    @rx.event
    def toggle_scope(self, scope: str) -> None:
        self.chosen_scope = _toggled(self.chosen_scope, scope)
        self._edited("scope")

    @rx.event
    def set_action(self, value: str) -> None:
        self.action = value
        self._edited("action")

    @rx.event
    def set_rule_kind(self, value: str | list[str]) -> None:
        self.rule_kind = str(value)
        self._edited("rule")

    @rx.event
    def set_pattern(self, value: str) -> None:
        self.pattern = value
        self._edited("pattern")
        self._forget_error("rule")

    @rx.event
    def toggle_builtin(self, name: str) -> None:
        self.chosen_builtins = _toggled(self.chosen_builtins, name)
        self._edited("builtins")
        self._forget_error("rule")

    @rx.event
    def set_judge_text(self, value: str) -> None:
        self.judge_text = value
        self._edited("judge")
        self._forget_error("rule")

    @rx.event
    def set_on_unreadable(self, value: str) -> None:
        self.on_unreadable = value
        self._edited("on_unreadable")

    @rx.event
    def set_on_judge_error(self, value: str) -> None:
        self.on_judge_error = value
        self._edited("on_judge_error")

    @rx.event
    def set_enabled(self, value: bool) -> None:
        self.enabled = value

    def _draft(self) -> MessagePolicyDraft:
        return views.draft(
            views.FormChoices(
                name=self.form_name,
                everyone=self.everyone,
                users=self.chosen_users,
                groups=self.chosen_groups,
                scope=self.chosen_scope,
                action=self.action,
                rule_kind=self.rule_kind,
                pattern=self.pattern,
                builtins=self.chosen_builtins,
                judge=self.judge_text,
                on_unreadable=self.on_unreadable,
                on_judge_error=self.on_judge_error,
                enabled=self.enabled,
            )
        )

    def _show_api_errors(self, exc: ApiError) -> UiEvent:
        """The API's messages beside the inputs they are about (a 409 is the name's), the rest above the buttons."""
        if exc.status_code == 409:
            exc = exc.for_field("name")
        by_input, others = views.sort_field_errors(exc.field_errors)
        self.field_errors = by_input
        self.form_error = others or ("" if by_input else exc.message)
        return failure_event(exc, "") if exc.is_unauthorized else None

    @rx.event
    async def submit(self) -> AsyncIterator[UiEvent]:
        body = self._draft()
        self._start_submit()
        yield
        api = await session_api(self)
        editing = self.editing_id
        try:
            if editing:
                await api.message_policies.update(editing, body)
            else:
                await api.message_policies.create(body)
        except ApiError as exc:
            yield self._show_api_errors(exc)
            return
        finally:
            self.submitting = False
        self.close_form()
        yield rx.toast.success(f'Message policy "{body.name}" {"saved" if editing else "created"}')
        yield MessagePoliciesState.load

    def _show_trial_errors(self, exc: ApiError) -> UiEvent:
        """The sample's problems under the box; the policy's (this request nests it: "policy.rule.pattern") beside
        the form's inputs, as a save would show them."""
        sample: list[str] = []
        policy: dict[str, str] = {}
        rest: list[str] = []
        for field, message in exc.field_errors.items():
            if field in ("text", "scope"):
                sample.append(message)
            elif field.startswith("policy."):
                policy[field.removeprefix("policy.")] = message
            else:
                rest.append(f"{field}: {message}")
        by_input, others = views.sort_field_errors(policy)
        self.field_errors = by_input
        fix_first = ["Fix the policy first: see the fields above."] if by_input else []
        self.try_error = " ".join([*sample, *rest, *([others] if others else []), *fix_first]) or exc.message
        return failure_event(exc, "") if exc.is_unauthorized else None

    # -- try it ---------------------------------------------------------------------------------------

    @rx.event
    def set_try_text(self, value: str) -> None:
        self.try_text = value
        self._clear_verdict()

    @rx.event
    def set_try_scope(self, value: str) -> None:
        self.try_scope = value
        self._clear_verdict()

    @rx.event
    async def try_policy(self) -> AsyncIterator[UiEvent]:
        """Run the sample through the policy as the form has it now; a problem with the form shows on its field."""
        self._clear_verdict()
        self.trying = True
        yield
        api = await session_api(self)
        try:
            result = await api.message_policies.test(self._draft(), text=self.try_text, scope=self.try_scope)
        except ApiError as exc:
            yield self._show_trial_errors(exc)
            return
        finally:
            self.trying = False
        shown = views.verdict(result)
        self.try_headline, self.try_tone = shown.headline, shown.tone
        self.try_explanation, self.try_redacted = shown.explanation, shown.redacted_text

    # -- deletion -------------------------------------------------------------------------------------

    @rx.event
    def ask_delete(self, policy_id: int, name: str) -> None:
        self._ask_confirm(policy_id, name)

    async def _confirmed(self, item_id: int, name: str) -> list[UiEvent]:
        api = await session_api(self)
        await api.message_policies.delete(item_id)
        return [rx.toast.success(f'Message policy "{name}" deleted'), MessagePoliciesState.load]


def _toggled(values: list[str], value: str) -> list[str]:
    return [v for v in values if v != value] if value in values else [*values, value]
