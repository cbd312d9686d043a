"""Model access policies (admins): who may call which models, and what a model pattern matches now."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway_ui.api.schema import ApiModel

if TYPE_CHECKING:
    from gateway_ui.api.client import UserApi


class Policy(ApiModel):
    id: int
    name: str
    subjects: list[str]  # "*", "user:EMAIL" or "group:NAME"
    models: list[str]  # model names, "prefix*" or "*"


class PatternPreview(ApiModel):
    pattern: str
    count: int  # models the pattern matches now, active or not


class PoliciesApi:
    def __init__(self, user: UserApi) -> None:
        self._user = user

    async def list(self) -> list[Policy]:
        return Policy.list_from(await self._user.call("GET", "/api/policies"))

    async def create(self, *, name: str, subjects: Sequence[str], models: Sequence[str]) -> Policy:
        body = {"name": name, "subjects": list(subjects), "models": list(models)}
        return Policy.model_validate(await self._user.call("POST", "/api/policies", json=body))

    async def update(self, policy_id: int, *, name: str, subjects: Sequence[str], models: Sequence[str]) -> Policy:
        body = {"name": name, "subjects": list(subjects), "models": list(models)}
        return Policy.model_validate(await self._user.call("PATCH", f"/api/policies/{policy_id}", json=body))

    async def delete(self, policy_id: int) -> Policy:
        return Policy.model_validate(await self._user.call("DELETE", f"/api/policies/{policy_id}"))

    async def preview(self, pattern: str) -> PatternPreview:
        body = await self._user.call("GET", "/api/policies/preview", params={"pattern": pattern})
        return PatternPreview.model_validate(body)
