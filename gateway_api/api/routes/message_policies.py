"""Message policies (admin; auditors read): CRUD, the built-in pattern sets, the judge model, and "try it" on a
saved policy or a draft. Validation and the audit trail live in message_policies/stored/store.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, Field
from sqlmodel import col, select

from gateway_api.api.crud import IdPath, commit_config_change, get_or_404
from gateway_api.api.deps import AdminUser, ServicesDep, SessionDep, require_admin
from gateway_api.api.errors import conflict, field_errors
from gateway_api.core.names import Name
from gateway_api.db.models import MessagePolicy
from gateway_api.message_policies.patterns import BUILTIN_SETS
from gateway_api.message_policies.rules import FailChoice, MessagePolicyEntry, PolicyAction, PolicyScope
from gateway_api.message_policies.stored.entries import policy_entry
from gateway_api.message_policies.stored.store import (
    MAX_JUDGE_LENGTH,
    MAX_PATTERN_LENGTH,
    PolicyFields,
    PolicyNameTaken,
    PolicyProblems,
    create_policy,
    delete_policy,
    fields_of,
    judge_model,
    rule_problems,
    set_judge_model,
    update_policy,
)
from gateway_api.message_policies.stored.trial import try_policy
from gateway_api.message_policies.verdicts import Judge

router = APIRouter(prefix="/message-policies", tags=["message-policies"], dependencies=[Depends(require_admin)])

Entry = Annotated[str, Field(min_length=1, max_length=400)]
MAX_TRIAL_TEXT = 100_000


class RuleBody(BaseModel):
    pattern: str | None = Field(default=None, max_length=MAX_PATTERN_LENGTH, description="an RE2 expression")
    builtins: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=50)
    judge: str | None = Field(default=None, max_length=MAX_JUDGE_LENGTH, description="a rule an LLM judges")


class MessagePolicyCreate(BaseModel):
    name: Name
    subjects: list[Entry] = Field(max_length=1000, description='"*", "user:EMAIL" or "group:NAME"')
    scope: list[PolicyScope] = Field(max_length=3)
    action: PolicyAction
    rule: RuleBody
    on_unreadable: FailChoice = FailChoice.block
    on_judge_error: FailChoice = FailChoice.block
    enabled: bool = True

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


class MessagePolicyUpdate(BaseModel):
    """Only the fields given change; `rule` is replaced whole when given."""

    name: Name | None = None
    subjects: list[Entry] | None = Field(default=None, max_length=1000)
    scope: list[PolicyScope] | None = Field(default=None, max_length=3)
    action: PolicyAction | None = None
    rule: RuleBody | None = None
    on_unreadable: FailChoice | None = None
    on_judge_error: FailChoice | None = None
    enabled: bool | None = None


class RulePublic(BaseModel):
    pattern: str | None
    builtins: list[str]
    judge: str | None


class MessagePolicyPublic(BaseModel):
    id: int
    name: str
    subjects: list[str]
    scope: list[PolicyScope]
    action: PolicyAction
    rule: RulePublic
    on_unreadable: FailChoice
    on_judge_error: FailChoice
    enabled: bool
    created_at: datetime
    updated_at: datetime


class BuiltinSet(BaseModel):
    name: str
    description: str


class JudgeModel(BaseModel):
    model: str | None = Field(default=None, max_length=200)


class TrialText(BaseModel):
    text: str = Field(max_length=MAX_TRIAL_TEXT)
    scope: PolicyScope = PolicyScope.user_messages


class DraftTrial(TrialText):
    policy: MessagePolicyCreate


class MatchSpan(BaseModel):
    start: int
    end: int


class TrialVerdict(BaseModel):
    violation: bool
    action: PolicyAction
    explanation: str
    redacted_text: str | None
    matches: list[MatchSpan]
    judge_failed: bool


def _public(policy: MessagePolicy) -> MessagePolicyPublic:
    return MessagePolicyPublic(
        id=policy.id or 0,
        name=policy.name,
        subjects=list(policy.subjects),
        scope=[PolicyScope(s) for s in policy.scopes],
        action=PolicyAction(policy.action),
        rule=RulePublic(pattern=policy.pattern, builtins=list(policy.builtins), judge=policy.judge),
        on_unreadable=FailChoice(policy.on_unreadable),
        on_judge_error=FailChoice(policy.on_judge_error),
        enabled=policy.enabled,
        created_at=policy.created_at,
        updated_at=policy.updated_at,
    )


def _judge(services: ServicesDep) -> Judge | None:
    return services.message_policy_judge


JudgeDep = Annotated[Judge | None, Depends(_judge)]


@router.get("", response_model=list[MessagePolicyPublic])
def list_message_policies(session: SessionDep) -> list[MessagePolicyPublic]:
    """Every message policy, enabled or not, by name."""
    return [_public(p) for p in session.exec(select(MessagePolicy).order_by(col(MessagePolicy.name)))]


@router.get("/builtins", response_model=list[BuiltinSet])
def list_builtin_sets() -> list[BuiltinSet]:
    """The named pattern sets a rule may use (`rule.builtins`)."""
    return [BuiltinSet(name=name, description=description) for name, description in BUILTIN_SETS.items()]


@router.get("/judge", response_model=JudgeModel)
def read_judge_model(session: SessionDep) -> JudgeModel:
    """The model that judges judged policies (null: none, so they fail and follow on_judge_error)."""
    return JudgeModel(model=judge_model(session))


@router.put("/judge", response_model=JudgeModel)
def put_judge_model(body: JudgeModel, admin: AdminUser, session: SessionDep, services: ServicesDep) -> JudgeModel:
    """Set the judging model: a model of the catalog, or null."""
    try:
        set_judge_model(session, body.model, admin)
    except PolicyProblems as exc:
        raise field_errors(exc.problems) from None
    commit_config_change(session, services)
    return JudgeModel(model=body.model)


@router.post("/test", response_model=TrialVerdict)
async def try_draft(body: DraftTrial, judge: JudgeDep) -> TrialVerdict:
    """Run a sample text through a policy that is not saved (the create dialog's "try it")."""
    fields = body.policy.fields()
    problems = rule_problems(fields)
    if problems:
        raise field_errors([(f"policy.{name}", message) for name, message in problems])
    draft = MessagePolicy(name=fields.name, action=fields.action.value)
    draft.scopes = [s.value for s in fields.scopes]
    draft.pattern, draft.builtins, draft.judge = fields.pattern, list(fields.builtins), fields.judge
    draft.on_judge_error, draft.on_unreadable = fields.on_judge_error.value, fields.on_unreadable.value
    return await _verdict(policy_entry(draft, unsaved=True), body, judge)


@router.post("", response_model=MessagePolicyPublic, status_code=status.HTTP_201_CREATED)
def create_message_policy(
    body: MessagePolicyCreate, admin: AdminUser, session: SessionDep, services: ServicesDep
) -> MessagePolicyPublic:
    """Create a message policy (validated like access policies for subjects; see the rule checks)."""
    try:
        policy = create_policy(session, body.fields(), admin)
    except PolicyProblems as exc:
        raise field_errors(exc.problems) from None
    except PolicyNameTaken as exc:
        raise conflict(str(exc)) from None
    commit_config_change(session, services, f'a message policy named "{body.name}" already exists')
    return _public(policy)


@router.get("/{message_policy_id}", response_model=MessagePolicyPublic)
def read_message_policy(message_policy_id: IdPath, session: SessionDep) -> MessagePolicyPublic:
    return _public(get_or_404(session, MessagePolicy, message_policy_id, "message policy"))


@router.patch("/{message_policy_id}", response_model=MessagePolicyPublic)
def update_message_policy(
    message_policy_id: IdPath, body: MessagePolicyUpdate, admin: AdminUser, session: SessionDep, services: ServicesDep
) -> MessagePolicyPublic:
    """Change some fields of a policy; the rest stay as they are."""
    policy = get_or_404(session, MessagePolicy, message_policy_id, "message policy")
    current = fields_of(policy)
    rule = body.rule
    fields = PolicyFields(
        name=body.name if body.name is not None else current.name,
        subjects=body.subjects if body.subjects is not None else current.subjects,
        scopes=body.scope if body.scope is not None else current.scopes,
        action=body.action if body.action is not None else current.action,
        pattern=rule.pattern if rule is not None else current.pattern,
        builtins=rule.builtins if rule is not None else current.builtins,
        judge=rule.judge if rule is not None else current.judge,
        on_unreadable=body.on_unreadable if body.on_unreadable is not None else current.on_unreadable,
        on_judge_error=body.on_judge_error if body.on_judge_error is not None else current.on_judge_error,
        enabled=body.enabled if body.enabled is not None else current.enabled,
    )
    try:
        update_policy(session, policy, fields, admin)
    except PolicyProblems as exc:
        raise field_errors(exc.problems) from None
    except PolicyNameTaken as exc:
        raise conflict(str(exc)) from None
    commit_config_change(session, services, f'a message policy named "{fields.name}" already exists')
    return _public(policy)


@router.delete("/{message_policy_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_message_policy(
    message_policy_id: IdPath, admin: AdminUser, session: SessionDep, services: ServicesDep
) -> Response:
    """Delete a policy; its violations stay, under its name."""
    policy = get_or_404(session, MessagePolicy, message_policy_id, "message policy")
    delete_policy(session, policy, admin)
    commit_config_change(session, services)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{message_policy_id}/test", response_model=TrialVerdict)
async def try_saved(message_policy_id: IdPath, body: TrialText, session: SessionDep, judge: JudgeDep) -> TrialVerdict:
    """Run a sample text through a saved policy (enabled or not)."""
    policy = get_or_404(session, MessagePolicy, message_policy_id, "message policy")
    return await _verdict(policy_entry(policy), body, judge)


async def _verdict(entry: MessagePolicyEntry, body: TrialText, judge: Judge | None) -> TrialVerdict:
    result = await try_policy(entry, body.scope, body.text, judge)
    return TrialVerdict(
        violation=result.violation,
        action=result.action,
        explanation=result.explanation,
        redacted_text=result.redacted_text,
        matches=[MatchSpan(start=s, end=e) for s, e in result.matches],
        judge_failed=result.judge_failed,
    )
