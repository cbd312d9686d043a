"""The signed-in user."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from gateway_api.api.deps import CurrentUser, SessionDep
from gateway_api.db.models import Role
from gateway_api.users import user_group_names

router = APIRouter(prefix="/me", tags=["me"])


class MePublic(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    groups: list[str]


@router.get("", response_model=MePublic)
def read_me(user: CurrentUser, session: SessionDep) -> MePublic:
    """Who am I."""
    return MePublic(
        id=user.id or 0,
        email=user.email,
        name=user.name,
        role=user.role,
        groups=user_group_names(session, user.id or 0),
    )
