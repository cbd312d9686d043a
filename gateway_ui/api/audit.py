"""The admin trail (admins and auditors): who changed what, newest first, a page at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway_ui.api.schema import ApiModel

if TYPE_CHECKING:
    from gateway_ui.api.client import UserApi


class AuditEvent(ApiModel):
    id: int
    created_at: str
    actor_email: str  # a user's email, or "cli" / "config"
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(ApiModel):
    data: list[AuditEvent]
    total: int
    next_cursor: str | None


class AuditApi:
    def __init__(self, user: UserApi) -> None:
        self._user = user

    async def list(self, filters: dict[str, str], *, cursor: str = "", limit: int = 50) -> AuditPage:
        """`filters`: the API's own parameters (actor, action, target, from, to); empty values are left out."""
        params = {name: value for name, value in filters.items() if value}
        params["limit"] = str(limit)
        if cursor:
            params["cursor"] = cursor
        return AuditPage.model_validate(await self._user.call("GET", "/api/audit", params=params))
