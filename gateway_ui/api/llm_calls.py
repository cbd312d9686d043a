"""The LLM call log (admins): calls newest first under filters, one call in detail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gateway_ui.api.schema import ApiModel

if TYPE_CHECKING:
    from gateway_ui.api.client import UserApi


class LlmCall(ApiModel):
    id: int
    created_at: str
    user_email: str | None = None
    actor: str | None = None  # a call without a user: the gateway's own (the message policy judge)
    api_key_name: str | None = None
    api_key_prefix: str | None = None
    provider: str
    model: str
    path: str | None = None
    method: str | None = None
    status_code: int
    outcome: str
    refusal_reason: str | None = None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    reasoning_effort: str | None = None
    cost_usd: float
    latency_ms: float
    ttfb_ms: float | None = None
    client: str
    client_address: str | None = None
    session_id: str | None = None
    request_id: str | None = None
    call_id: str | None = None


class LlmCallDetail(LlmCall):
    bodies: dict[str, Any] | None = None
    bodies_readable: bool = False


class LlmCallsPage(ApiModel):
    data: list[LlmCall]
    next_cursor: str | None = None


class LlmCallsApi:
    def __init__(self, user: UserApi) -> None:
        self._user = user

    async def list(self, filters: Mapping[str, str], cursor: str | None = None, limit: int = 50) -> LlmCallsPage:
        params = {**filters, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        return LlmCallsPage.model_validate(await self._user.call("GET", "/api/llm-calls", params=params))

    async def get(self, call_id: int) -> LlmCallDetail:
        return LlmCallDetail.model_validate(await self._user.call("GET", f"/api/llm-calls/{call_id}"))
