"""Users (admin): create, update role / groups / password, deactivate (their keys stop at once)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, func, or_, select

from gateway_api.accounts.audit import record_event
from gateway_api.accounts.users import (
    create_user,
    find_user,
    set_active,
    set_password,
    set_user_groups,
    user_group_names,
)
from gateway_api.api.crud import IdPath, commit_config_change, get_or_404
from gateway_api.api.deps import AdminUser, ServicesDep, SessionDep, require_admin
from gateway_api.api.errors import conflict, field_error
from gateway_api.core.names import OptionalName
from gateway_api.db.models import Group, Role, User, utcnow

router = APIRouter(prefix="/users", tags=["users"], dependencies=[Depends(require_admin)])

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"
GroupName = Annotated[str, Field(min_length=1, max_length=200)]
Password = Annotated[str, Field(min_length=8, max_length=1024)]


class UserCreate(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)
    name: OptionalName = ""
    password: Password | None = Field(default=None, description="none: the user cannot sign in with a password")
    role: Role = Role.user
    groups: list[GroupName] = Field(default_factory=list, max_length=200)


class UserUpdate(BaseModel):
    name: OptionalName | None = None
    role: Role | None = None
    active: bool | None = None
    groups: list[GroupName] | None = Field(default=None, max_length=200)
    password: Password | None = None


class UserPublic(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    active: bool
    groups: list[str]
    has_password: bool
    created_at: datetime
    updated_at: datetime


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int


def user_public(session: Session, user: User) -> UserPublic:
    return UserPublic(
        id=user.id or 0,
        email=user.email,
        name=user.name,
        role=user.role,
        active=user.active,
        groups=user_group_names(session, user.id or 0),
        has_password=bool(user.password_hash),
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def _audit_view(session: Session, user: User) -> dict[str, Any]:
    return user_public(session, user).model_dump(mode="json", exclude={"created_at", "updated_at", "id"})


def _check_groups_exist(session: Session, names: list[str]) -> None:
    found = set(session.exec(select(Group.name).where(col(Group.name).in_(names))).all()) if names else set()
    missing = [n for n in dict.fromkeys(names) if n not in found]
    if missing:
        raise field_error("groups", f'group "{missing[0]}" does not exist; create it first')


def _other_active_admins(session: Session, user: User) -> int:
    return session.exec(
        select(func.count()).where(User.role == Role.admin, col(User.active).is_(True), User.id != user.id)
    ).one()


@router.get("", response_model=UsersPublic)
def list_users(
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=320, description="search in email and name")] = None,
    active: bool | None = None,
) -> UsersPublic:
    """List users, optionally searched or filtered by active."""
    query = select(User).order_by(col(User.email))
    if q:
        query = query.where(or_(col(User.email).ilike(f"%{q.lower()}%"), col(User.name).ilike(f"%{q}%")))
    if active is not None:
        query = query.where(User.active == active)
    data = [user_public(session, u) for u in session.exec(query)]
    return UsersPublic(data=data, count=len(data))


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user_route(body: UserCreate, admin: AdminUser, session: SessionDep, services: ServicesDep) -> UserPublic:
    """Create a user with a role, optional password and groups."""
    if find_user(session, body.email) is not None:
        raise conflict(f'a user with email "{body.email.strip().lower()}" already exists')
    _check_groups_exist(session, body.groups)
    user = create_user(session, body.email, body.password, role=body.role, name=body.name)
    if body.groups:
        set_user_groups(session, user, body.groups)
    record_event(session, admin, "user.create", "user", user.id, after=_audit_view(session, user))
    commit_config_change(session, services, "a user with this email already exists")
    return user_public(session, user)


@router.get("/{user_id}", response_model=UserPublic)
def read_user(user_id: IdPath, session: SessionDep) -> UserPublic:
    """One user."""
    return user_public(session, get_or_404(session, User, user_id, "user"))


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(
    user_id: IdPath, body: UserUpdate, admin: AdminUser, session: SessionDep, services: ServicesDep
) -> UserPublic:
    """Change name, role, active flag, groups or password."""
    user = get_or_404(session, User, user_id, "user")
    before = _audit_view(session, user)
    losing_admin = (body.role is not None and body.role != Role.admin) or body.active is False
    if user.id == admin.id and losing_admin:
        raise conflict("you cannot demote or deactivate yourself; ask another admin")
    if user.role == Role.admin and losing_admin and _other_active_admins(session, user) == 0:
        raise conflict("this is the last active admin")
    if body.groups is not None:
        _check_groups_exist(session, body.groups)
        set_user_groups(session, user, body.groups)
    if body.name is not None:
        user.name = body.name
    if body.role is not None:
        user.role = body.role
    if body.active is not None:
        set_active(session, user, body.active)
    if body.password is not None:
        set_password(session, user, body.password)
    user.updated_at = utcnow()
    session.add(user)
    session.flush()
    after = _audit_view(session, user)
    if body.password is not None:
        after["sign_in_changed"] = True
    record_event(session, admin, "user.update", "user", user.id, before=before, after=after)
    commit_config_change(session, services)
    return user_public(session, user)


@router.delete("/{user_id}", response_model=UserPublic)
def deactivate_user(user_id: IdPath, admin: AdminUser, session: SessionDep, services: ServicesDep) -> UserPublic:
    """Deactivate a user: every key of theirs stops working at once (history is kept; PATCH active to undo)."""
    user = get_or_404(session, User, user_id, "user")
    if user.id == admin.id:
        raise conflict("you cannot deactivate yourself; ask another admin")
    before = _audit_view(session, user)
    set_active(session, user, False)
    session.flush()
    record_event(session, admin, "user.deactivate", "user", user.id, before=before, after=_audit_view(session, user))
    commit_config_change(session, services)
    return user_public(session, user)
