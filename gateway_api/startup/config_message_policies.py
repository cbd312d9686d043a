"""The config file's `message_policy_judge:` and `message_policies:`, checked and applied through the same store
as the REST API (message_policies/stored/store.py), audited with actor config; errors name the entry and its field."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator
from sqlmodel import Session

from gateway_api.accounts.audit import SystemActor
from gateway_api.core.names import Name
from gateway_api.message_policies.rules import FailChoice, PolicyAction, PolicyScope
from gateway_api.message_policies.stored.store import (
    PolicyFields,
    PolicyNameTaken,
    PolicyProblems,
    create_policy,
    find_policy,
    rule_problems,
    set_judge_model,
    update_policy,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessagePolicyRuleSpec(_Strict):
    pattern: str | None = None
    builtins: list[str] = []
    judge: str | None = None


class MessagePolicySpec(_Strict):
    name: Name
    subjects: list[str]
    scope: list[PolicyScope]
    action: PolicyAction
    rule: MessagePolicyRuleSpec
    on_unreadable: FailChoice = FailChoice.block
    on_judge_error: FailChoice = FailChoice.block
    enabled: bool = True

    @field_validator("scope", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        # `scope: user_messages` reads as naturally as a one-item list.
        return [value] if isinstance(value, str) else value

    def fields(self) -> PolicyFields:
        return PolicyFields(
            name=self.name,
            subjects=list(self.subjects),
            scopes=list(self.scope),
            action=self.action,
            pattern=self.rule.pattern,
            builtins=list(self.rule.builtins),
            judge=self.rule.judge,
            on_unreadable=self.on_unreadable,
            on_judge_error=self.on_judge_error,
            enabled=self.enabled,
        )


def message_policy_problem(specs: list[MessagePolicySpec]) -> str | None:
    """The first problem found without the database, as `message_policies[i].field: message`."""
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        if spec.name in seen:
            return f"message_policies[{i}].name: message policy {spec.name!r} is listed twice"
        seen.add(spec.name)
        problems = rule_problems(spec.fields())
        if problems:
            field, message = problems[0]
            return f"message_policies[{i}].{field}: {message}"
    return None


def apply_message_policies(session: Session, specs: list[MessagePolicySpec], path: Path) -> None:
    """Create or update each listed policy (one audit event per real change); unlisted ones are left alone."""
    for i, spec in enumerate(specs):
        policy = find_policy(session, spec.name)
        try:
            if policy is None:
                create_policy(session, spec.fields(), SystemActor.config)
            else:
                update_policy(session, policy, spec.fields(), SystemActor.config)
        except PolicyProblems as exc:
            field, message = exc.problems[0]
            raise ValueError(f"{path}: message_policies[{i}].{field}: {message}") from None
        except PolicyNameTaken as exc:  # only when two entries race in one file, which the check above refuses
            raise ValueError(f"{path}: message_policies[{i}].name: {exc}") from None


def apply_judge_model(session: Session, model: str | None, path: Path) -> None:
    try:
        set_judge_model(session, model, SystemActor.config)
    except PolicyProblems as exc:
        raise ValueError(f"{path}: message_policy_judge: {exc.problems[0][1]} (list it under a provider)") from None
