"""Groups (admin): named sets of users that policies can grant models to."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, delete, select

from gateway_api.accounts.audit import record_event
from gateway_api.api.crud import IdPath, commit_config_change, get_or_404
from gateway_api.api.deps import AdminUser, ServicesDep, SessionDep, require_admin
from gateway_api.api.errors import conflict
from gateway_api.core.names import Name
from gateway_api.db.models import Group, Policy, User, UserGroup, utcnow

router = APIRouter(prefix="/groups", tags=["groups"], dependencies=[Depends(require_admin)])


class GroupCreate(BaseModel):
    name: Name
    synced_from_sso: bool = Field(
        default=False, description="managed by single sign-on: members follow the groups claim at each sign-in"
    )


class GroupUpdate(BaseModel):
    name: Name


class GroupPublic(BaseModel):
    id: int
    name: str
    members: list[str] = Field(description="member emails")
    created_at: datetime
    synced_from_sso: bool = False


class GroupsPublic(BaseModel):
    data: list[GroupPublic]
    count: int


def _public(session: Session, group: Group) -> GroupPublic:
    members = session.exec(
        select(User.email)
        .join(UserGroup, col(UserGroup.user_id) == col(User.id))
        .where(UserGroup.group_id == group.id)
        .order_by(col(User.email))
    ).all()
    return GroupPublic(
        id=group.id or 0,
        name=group.name,
        members=list(members),
        created_at=group.created_at,
        synced_from_sso=group.synced_from_sso,
    )


def _ensure_unique_name(session: Session, name: str, own_id: int | None = None) -> None:
    existing = session.exec(select(Group.id).where(Group.name == name)).first()
    if existing is not None and existing != own_id:
        raise conflict(f'a group named "{name}" already exists')


def _policies_naming(session: Session, name: str) -> list[Policy]:
    subject = f"group:{name}"
    return [p for p in session.exec(select(Policy)) if subject in p.subjects]


@router.get("", response_model=GroupsPublic)
def list_groups(session: SessionDep) -> GroupsPublic:
    """List groups with their members."""
    data = [_public(session, g) for g in session.exec(select(Group).order_by(col(Group.name)))]
    return GroupsPublic(data=data, count=len(data))


@router.post("", response_model=GroupPublic, status_code=status.HTTP_201_CREATED)
def create_group(body: GroupCreate, admin: AdminUser, session: SessionDep, services: ServicesDep) -> GroupPublic:
    """Create an empty group (add members by updating users)."""
    _ensure_unique_name(session, body.name)
    group = Group(name=body.name, synced_from_sso=body.synced_from_sso)
    session.add(group)
    session.flush()
    after = {"name": group.name, "synced_from_sso": group.synced_from_sso}
    record_event(session, admin, "group.create", "group", group.id, after=after)
    commit_config_change(session, services, f'a group named "{body.name}" already exists')
    return _public(session, group)


@router.get("/{group_id}", response_model=GroupPublic)
def read_group(group_id: IdPath, session: SessionDep) -> GroupPublic:
    """One group."""
    return _public(session, get_or_404(session, Group, group_id, "group"))


@router.patch("/{group_id}", response_model=GroupPublic)
def rename_group(
    group_id: IdPath, body: GroupUpdate, admin: AdminUser, session: SessionDep, services: ServicesDep
) -> GroupPublic:
    """Rename a group; policies that name it follow the new name."""
    group = get_or_404(session, Group, group_id, "group")
    old_name = group.name
    if body.name != old_name:
        _ensure_unique_name(session, body.name, group.id)
        for policy in _policies_naming(session, old_name):
            policy.subjects = [f"group:{body.name}" if s == f"group:{old_name}" else s for s in policy.subjects]
            policy.updated_at = utcnow()
            session.add(policy)
        group.name = body.name
        session.add(group)
        record_event(
            session, admin, "group.update", "group", group.id, before={"name": old_name}, after={"name": group.name}
        )
        commit_config_change(session, services, f'a group named "{body.name}" already exists')
    return _public(session, group)


@router.delete("/{group_id}", response_model=GroupPublic)
def delete_group(group_id: IdPath, admin: AdminUser, session: SessionDep, services: ServicesDep) -> GroupPublic:
    """Delete a group that no policy names (its memberships go with it)."""
    group = get_or_404(session, Group, group_id, "group")
    users_of = _policies_naming(session, group.name)
    if users_of:
        names = ", ".join(sorted(p.name for p in users_of))
        raise conflict(f'group "{group.name}" is used by policies: {names}; remove it from them first')
    view = _public(session, group)
    session.exec(delete(UserGroup).where(col(UserGroup.group_id) == group.id))
    session.delete(group)
    record_event(session, admin, "group.delete", "group", group_id, before={"name": view.name, "members": view.members})
    commit_config_change(session, services)
    return view
