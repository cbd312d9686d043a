"""User accounts and groups (admins)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gateway_ui.api.schema import ApiModel

if TYPE_CHECKING:
    from gateway_ui.api.client import UserApi


class User(ApiModel):
    id: int
    email: str
    name: str
    role: str
    groups: list[str]
    active: bool


class Group(ApiModel):
    id: int
    name: str
    members: list[str]  # member emails


class UsersApi:
    def __init__(self, user: UserApi) -> None:
        self._user = user

    async def list(self) -> list[User]:
        return User.list_from(await self._user.call("GET", "/api/users"))

    async def create(
        self, *, email: str, password: str | None, name: str = "", role: str = "user", groups: Sequence[str] = ()
    ) -> User:
        """A new account; without a password it cannot sign in with one."""
        body = {"email": email, "name": name, "password": password, "role": role, "groups": list(groups)}
        return User.model_validate(await self._user.call("POST", "/api/users", json=body))

    async def update(
        self,
        user_id: int,
        *,
        name: str | None = None,
        role: str | None = None,
        groups: Sequence[str] | None = None,
        active: bool | None = None,
        password: str | None = None,
    ) -> User:
        """Change what is given; None leaves a field as it is."""
        changes: dict[str, Any] = {"name": name, "role": role, "active": active, "password": password}
        body = {field: value for field, value in changes.items() if value is not None}
        if groups is not None:
            body["groups"] = list(groups)
        return User.model_validate(await self._user.call("PATCH", f"/api/users/{user_id}", json=body))

    async def deactivate(self, user_id: int) -> User:
        return User.model_validate(await self._user.call("DELETE", f"/api/users/{user_id}"))


class GroupsApi:
    def __init__(self, user: UserApi) -> None:
        self._user = user

    async def list(self) -> list[Group]:
        return Group.list_from(await self._user.call("GET", "/api/groups"))

    async def create(self, name: str) -> Group:
        return Group.model_validate(await self._user.call("POST", "/api/groups", json={"name": name}))

    async def delete(self, group_id: int) -> Group:
        return Group.model_validate(await self._user.call("DELETE", f"/api/groups/{group_id}"))
