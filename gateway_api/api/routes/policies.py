"""Model access policies (admin): which users or groups may call which models; pattern preview."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from gateway_api.accounts.access import EVERYONE, pattern_matches, validate_policy
from gateway_api.accounts.audit import record_event
from gateway_api.accounts.users import resolve_subjects
from gateway_api.api.crud import IdPath, commit_config_change, get_or_404
from gateway_api.api.deps import AdminUser, ServicesDep, SessionDep, require_admin
from gateway_api.api.errors import conflict, field_error, field_errors
from gateway_api.core.names import Name
from gateway_api.db.models import Model, Policy, Provider, ProviderKind, utcnow

router = APIRouter(prefix="/policies", tags=["policies"], dependencies=[Depends(require_admin)])

Entry = Annotated[str, Field(min_length=1, max_length=400)]


class PolicyCreate(BaseModel):
    name: Name
    subjects: list[Entry] = Field(max_length=1000, description='"*", "user:EMAIL" or "group:NAME"')
    models: list[Entry] = Field(max_length=1000, description='"*", a model name, or "prefix*"')


class PolicyUpdate(BaseModel):
    name: Name | None = None
    subjects: list[Entry] | None = Field(default=None, max_length=1000)
    models: list[Entry] | None = Field(default=None, max_length=1000)


class PolicyPublic(BaseModel):
    id: int
    name: str
    subjects: list[str]
    models: list[str]
    created_at: datetime
    updated_at: datetime


class PoliciesPublic(BaseModel):
    data: list[PolicyPublic]
    count: int


class MatchedModel(BaseModel):
    name: str
    display_name: str
    provider: str
    provider_kind: ProviderKind
    active: bool


class PatternPreview(BaseModel):
    pattern: str
    count: int = Field(description="models the pattern matches now (active or not)")
    active_count: int
    models: list[MatchedModel]


def _public(policy: Policy) -> PolicyPublic:
    return PolicyPublic.model_validate(policy, from_attributes=True)


def _audit_view(policy: Policy) -> dict[str, Any]:
    return {"name": policy.name, "subjects": list(policy.subjects), "models": list(policy.models)}


def _validate(session: Session, subjects: list[str], models: list[str]) -> list[str]:
    """Raise one 422 naming every problem by its field; return subjects with user emails normalised."""
    problems = validate_policy(subjects, models)
    if problems:
        raise field_errors(problems)
    normalised, problems = resolve_subjects(session, subjects)
    if problems:
        raise field_errors(problems)
    return normalised


def _ensure_unique_name(session: Session, name: str, own_id: int | None = None) -> None:
    existing = session.exec(select(Policy.id).where(Policy.name == name)).first()
    if existing is not None and existing != own_id:
        raise conflict(f'a policy named "{name}" already exists')


@router.get("", response_model=PoliciesPublic)
def list_policies(session: SessionDep) -> PoliciesPublic:
    """List policies by name."""
    data = [_public(p) for p in session.exec(select(Policy).order_by(col(Policy.name)))]
    return PoliciesPublic(data=data, count=len(data))


@router.get("/preview", response_model=PatternPreview)
def preview_pattern(
    session: SessionDep, pattern: Annotated[str, Query(min_length=1, max_length=400)]
) -> PatternPreview:
    """The models a pattern (name, "prefix*" or "*") matches now."""
    problems = validate_policy([EVERYONE], [pattern])
    if problems:
        raise field_error("pattern", problems[0][1].replace("models", "pattern"), where="query")
    rows = session.exec(
        select(Model, Provider).join(Provider, col(Provider.id) == col(Model.provider_id)).order_by(col(Model.name))
    ).all()
    matched = [
        MatchedModel(
            name=m.name, display_name=m.display_name or m.name, provider=p.name, provider_kind=p.kind, active=m.active
        )
        for m, p in rows
        if pattern_matches(pattern, m.name)
    ]
    return PatternPreview(
        pattern=pattern, count=len(matched), active_count=sum(m.active for m in matched), models=matched
    )


@router.post("", response_model=PolicyPublic, status_code=status.HTTP_201_CREATED)
def create_policy(body: PolicyCreate, admin: AdminUser, session: SessionDep, services: ServicesDep) -> PolicyPublic:
    """Create a policy (at least one subject and one model; "*" alone; subjects must exist)."""
    subjects = _validate(session, body.subjects, body.models)
    _ensure_unique_name(session, body.name)
    policy = Policy(name=body.name, subjects=subjects, models=list(body.models))
    session.add(policy)
    session.flush()
    record_event(session, admin, "policy.create", "policy", policy.id, after=_audit_view(policy))
    commit_config_change(session, services, f'a policy named "{body.name}" already exists')
    return _public(policy)


@router.get("/{policy_id}", response_model=PolicyPublic)
def read_policy(policy_id: IdPath, session: SessionDep) -> PolicyPublic:
    """One policy."""
    return _public(get_or_404(session, Policy, policy_id, "policy"))


@router.patch("/{policy_id}", response_model=PolicyPublic)
def update_policy(
    policy_id: IdPath, body: PolicyUpdate, admin: AdminUser, session: SessionDep, services: ServicesDep
) -> PolicyPublic:
    """Rename a policy or replace its subjects or models."""
    policy = get_or_404(session, Policy, policy_id, "policy")
    before = _audit_view(policy)
    subjects = body.subjects if body.subjects is not None else list(policy.subjects)
    models = body.models if body.models is not None else list(policy.models)
    subjects = _validate(session, subjects, models)
    if body.name is not None:
        _ensure_unique_name(session, body.name, policy.id)
        policy.name = body.name
    # New lists (not in-place edits) so SQLAlchemy sees the JSON columns change.
    policy.subjects = subjects
    policy.models = list(models)
    policy.updated_at = utcnow()
    session.add(policy)
    record_event(session, admin, "policy.update", "policy", policy.id, before=before, after=_audit_view(policy))
    commit_config_change(session, services, f'a policy named "{policy.name}" already exists')
    return _public(policy)


@router.delete("/{policy_id}", response_model=PolicyPublic)
def delete_policy(policy_id: IdPath, admin: AdminUser, session: SessionDep, services: ServicesDep) -> PolicyPublic:
    """Delete a policy; its grants end at once."""
    policy = get_or_404(session, Policy, policy_id, "policy")
    view = _public(policy)
    session.delete(policy)
    record_event(session, admin, "policy.delete", "policy", policy_id, before=_audit_view(policy))
    commit_config_change(session, services)
    return view
