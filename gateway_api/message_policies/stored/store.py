"""Message policies in the database: create, change, delete and the judge model, validated and audited the same
whoever asks (the REST API with the signed-in admin, the config file with SystemActor.config).

Problems come back as (field, message) in the REST API's terms (`scope`, `rule.pattern`, ...), so the API names
the field and the config file can say `message_policies[2].rule.pattern: ...`. Callers commit; the REST API bumps
the catalog version through commit_config_change, the config file once for the whole file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from gateway_api.accounts.access import validate_policy
from gateway_api.accounts.audit import SystemActor, record_event
from gateway_api.accounts.users import resolve_subjects
from gateway_api.core.names import check_name
from gateway_api.db.models import MessagePolicy, MessagePolicySettings, Model, User, saved_id, utcnow
from gateway_api.message_policies.patterns import validate_pattern
from gateway_api.message_policies.rules import FailChoice, PolicyAction, PolicyScope

MAX_JUDGE_LENGTH = 2000
# Tighter than what the matcher compiles (patterns.MAX_PATTERN_LENGTH): a rule a person can still read.
MAX_PATTERN_LENGTH = 1000
SETTINGS_ID = 1

Problems = list[tuple[str, str]]
Actor = User | SystemActor


@dataclass(frozen=True)
class PolicyFields:
    """Everything a policy is, as the REST API's body and the config file's entry give it."""

    name: str
    subjects: Sequence[str]
    scopes: Sequence[PolicyScope]
    action: PolicyAction
    pattern: str | None = None
    builtins: Sequence[str] = ()
    judge: str | None = None
    on_unreadable: FailChoice = FailChoice.block
    on_judge_error: FailChoice = FailChoice.block
    enabled: bool = True


class PolicyProblems(Exception):
    """The policy cannot be saved; `problems` name each field."""

    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems


class PolicyNameTaken(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f'a message policy named "{name}" already exists')


@dataclass
class _Check:
    problems: Problems = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.problems.append((name, message))


def rule_problems(fields: PolicyFields) -> Problems:
    """What is wrong with the policy without looking at the database (name, scope, rule, action)."""
    check = _Check()
    try:
        check_name(fields.name, "name")
    except ValueError as exc:
        check.add("name", str(exc))
    if not fields.scopes:
        check.add("scope", "at least one scope is required")
    elif len(set(fields.scopes)) != len(fields.scopes):
        check.add("scope", "scope contains duplicates")
    has_pattern = fields.pattern is not None or bool(fields.builtins)
    if has_pattern and fields.judge is not None:
        check.add("rule", "a rule is either a pattern (pattern and/or builtins) or a judge, not both")
    elif not has_pattern and fields.judge is None:
        check.add("rule", "a rule needs a pattern, built-in sets or a judge")
    if fields.pattern is not None and not fields.pattern:
        check.add("rule.pattern", "must not be empty")
    elif fields.pattern is not None and len(fields.pattern) > MAX_PATTERN_LENGTH:
        check.add("rule.pattern", f"use at most {MAX_PATTERN_LENGTH} characters")
    elif has_pattern:
        problem = validate_pattern(fields.pattern, list(fields.builtins))
        if problem is not None:
            check.add("rule.builtins" if "built-in set" in problem else "rule.pattern", problem)
    if fields.judge is not None and not fields.judge.strip():
        check.add("rule.judge", "must not be empty")
    elif fields.judge is not None and len(fields.judge) > MAX_JUDGE_LENGTH:
        check.add("rule.judge", f"use at most {MAX_JUDGE_LENGTH} characters")
    if fields.action == PolicyAction.redact:
        if not has_pattern:
            check.add("action", "redact needs a pattern rule (a judge cannot say which text to replace)")
        if PolicyScope.tool_calls in fields.scopes:
            check.add("action", "redact is not allowed with the tool_calls scope (a tool call is blocked or allowed)")
    check.problems.extend(subject_shape_problems(fields.subjects))
    return check.problems


def subject_shape_problems(subjects: Sequence[str]) -> Problems:
    """The access policies' subject rules (accounts/access.py), subjects only."""
    return [(f, m) for f, m in validate_policy(list(subjects), ["*"]) if f == "subjects"]


def policy_view(policy: MessagePolicy) -> dict[str, Any]:
    """The audit trail's snapshot (and the config file's idempotence check): every field but the times."""
    return {
        "name": policy.name,
        "subjects": list(policy.subjects),
        "scope": list(policy.scopes),
        "action": policy.action,
        "rule": {"pattern": policy.pattern, "builtins": list(policy.builtins), "judge": policy.judge},
        "on_unreadable": policy.on_unreadable,
        "on_judge_error": policy.on_judge_error,
        "enabled": policy.enabled,
    }


def fields_of(policy: MessagePolicy) -> PolicyFields:
    return PolicyFields(
        name=policy.name,
        subjects=list(policy.subjects),
        scopes=[PolicyScope(s) for s in policy.scopes],
        action=PolicyAction(policy.action),
        pattern=policy.pattern,
        builtins=list(policy.builtins),
        judge=policy.judge,
        on_unreadable=FailChoice(policy.on_unreadable),
        on_judge_error=FailChoice(policy.on_judge_error),
        enabled=policy.enabled,
    )


def _checked(session: Session, fields: PolicyFields, own_id: int | None) -> list[str]:
    problems = rule_problems(fields)
    if problems:
        raise PolicyProblems(problems)
    subjects, problems = resolve_subjects(session, fields.subjects)
    if problems:
        raise PolicyProblems(problems)
    existing = session.exec(select(MessagePolicy.id).where(MessagePolicy.name == fields.name)).first()
    if existing is not None and existing != own_id:
        raise PolicyNameTaken(fields.name)
    return subjects


def _assign(policy: MessagePolicy, fields: PolicyFields, subjects: list[str]) -> None:
    # New lists (never in-place edits) so SQLAlchemy sees the JSON columns change.
    policy.name = fields.name
    policy.subjects = subjects
    policy.scopes = [PolicyScope(s).value for s in fields.scopes]
    policy.action = PolicyAction(fields.action).value
    policy.pattern = fields.pattern
    policy.builtins = list(fields.builtins)
    policy.judge = fields.judge
    policy.on_unreadable = FailChoice(fields.on_unreadable).value
    policy.on_judge_error = FailChoice(fields.on_judge_error).value
    policy.enabled = fields.enabled
    policy.updated_at = utcnow()


def create_policy(session: Session, fields: PolicyFields, actor: Actor) -> MessagePolicy:
    """Add a policy and its audit event to the session (flushed, not committed)."""
    subjects = _checked(session, fields, None)
    policy = MessagePolicy(name=fields.name, action=fields.action)
    _assign(policy, fields, subjects)
    session.add(policy)
    session.flush()
    record_event(session, actor, "message_policy.create", "message_policy", policy.id, after=policy_view(policy))
    return policy


def update_policy(session: Session, policy: MessagePolicy, fields: PolicyFields, actor: Actor) -> bool:
    """Replace every field; an event only when something changed. Whether anything did."""
    before = policy_view(policy)
    subjects = _checked(session, fields, policy.id)
    # Compared on a detached draft first, so an unchanged policy keeps its updated_at and gets no event.
    draft = MessagePolicy(name=fields.name, action=fields.action.value)
    _assign(draft, fields, subjects)
    if policy_view(draft) == before:
        return False
    _assign(policy, fields, subjects)
    after = policy_view(policy)
    session.add(policy)
    session.flush()
    record_event(session, actor, "message_policy.update", "message_policy", policy.id, before=before, after=after)
    return True


def delete_policy(session: Session, policy: MessagePolicy, actor: Actor) -> None:
    """Violations keep the policy's id and name: they are evidence, not configuration."""
    before = policy_view(policy)
    session.delete(policy)
    record_event(session, actor, "message_policy.delete", "message_policy", saved_id(policy), before=before)


def find_policy(session: Session, name: str) -> MessagePolicy | None:
    return session.exec(select(MessagePolicy).where(MessagePolicy.name == name)).first()


def judge_model(session: Session) -> str | None:
    settings = session.get(MessagePolicySettings, SETTINGS_ID)
    return settings.judge_model if settings is not None else None


def set_judge_model(session: Session, model: str | None, actor: Actor) -> bool:
    """Set the judging model (None: none); raises PolicyProblems for a model the catalog does not have."""
    if model is not None and session.exec(select(Model.id).where(col(Model.name) == model)).first() is None:
        raise PolicyProblems([("model", f'model "{model}" does not exist')])
    settings = session.get(MessagePolicySettings, SETTINGS_ID)
    before = settings.judge_model if settings is not None else None
    if before == model:
        return False
    settings = settings or MessagePolicySettings(id=SETTINGS_ID)
    settings.judge_model = model
    settings.updated_at = utcnow()
    session.add(settings)
    record_event(
        session,
        actor,
        "message_policy.judge",
        "message_policy_settings",
        SETTINGS_ID,
        before={"judge_model": before},
        after={"judge_model": model},
    )
    return True
