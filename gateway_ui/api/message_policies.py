"""Message policies (admins; auditors read): content rules on what users send and what tools the model calls, the
built-in pattern sets, the judge model, and a sample text run through a rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field

from gateway_ui.api.schema import ApiModel

if TYPE_CHECKING:
    from gateway_ui.api.client import UserApi


class MessageRule(ApiModel):
    """Either a pattern rule (`pattern` and/or `builtins`) or a judge rule (`judge`)."""

    pattern: str | None = None
    builtins: list[str] = Field(default_factory=list)
    judge: str | None = None


class MessagePolicy(ApiModel):
    id: int
    name: str
    subjects: list[str]  # "*", "user:EMAIL" or "group:NAME", as in access policies
    scope: list[str]  # user_messages | tool_results | tool_calls
    action: str  # block | redact | monitor
    rule: MessageRule
    on_unreadable: str = "block"
    on_judge_error: str = "block"
    enabled: bool = True


class BuiltinSet(ApiModel):
    name: str
    description: str = ""


class Span(ApiModel):
    start: int
    end: int


# Named here: inside the API classes below, `list` is their method.
BuiltinSets = list[BuiltinSet]


class PolicyTestResult(ApiModel):
    violation: bool
    action: str
    explanation: str = ""
    redacted_text: str | None = None
    matches: list[Span] = Field(default_factory=list)
    judge_failed: bool = False


class MessagePolicyDraft(ApiModel):
    """What the create / edit form sends (and the "try it" box runs before anything is saved)."""

    name: str
    subjects: list[str]
    scope: list[str]
    action: str
    rule: MessageRule
    on_unreadable: str
    on_judge_error: str
    enabled: bool

    def body(self) -> dict[str, Any]:
        return self.model_dump()


class MessagePoliciesApi:
    def __init__(self, user: UserApi) -> None:
        self._user = user

    async def list(self) -> list[MessagePolicy]:
        body = await self._user.call("GET", "/api/message-policies")
        return [MessagePolicy.model_validate(item) for item in body]

    async def create(self, draft: MessagePolicyDraft) -> MessagePolicy:
        body = await self._user.call("POST", "/api/message-policies", json=draft.body())
        return MessagePolicy.model_validate(body)

    async def update(self, policy_id: int, draft: MessagePolicyDraft) -> MessagePolicy:
        body = await self._user.call("PATCH", f"/api/message-policies/{policy_id}", json=draft.body())
        return MessagePolicy.model_validate(body)

    async def delete(self, policy_id: int) -> None:
        await self._user.call("DELETE", f"/api/message-policies/{policy_id}")

    async def builtins(self) -> BuiltinSets:
        body = await self._user.call("GET", "/api/message-policies/builtins")
        return [BuiltinSet.model_validate(item) for item in body]

    async def judge_model(self) -> str | None:
        model = (await self._user.call("GET", "/api/message-policies/judge")).get("model")
        return str(model) if model else None

    async def set_judge_model(self, model: str | None) -> str | None:
        answer = await self._user.call("PUT", "/api/message-policies/judge", json={"model": model})
        chosen = (answer or {}).get("model")
        return str(chosen) if chosen else None

    async def test(self, draft: MessagePolicyDraft, *, text: str, scope: str) -> PolicyTestResult:
        """Run `text` through a policy that is not saved (the form as it stands)."""
        body = {"policy": draft.body(), "text": text, "scope": scope}
        return PolicyTestResult.model_validate(await self._user.call("POST", "/api/message-policies/test", json=body))


class Violation(ApiModel):
    id: int
    created_at: str
    policy_id: int | None = None
    policy_name: str
    user_id: int | None = None
    user_email: str | None = None
    api_key_id: int | None = None
    key_name: str | None = None
    scope: str
    action: str
    explanation: str = ""
    call_id: str | None = None


class ViolationDetail(Violation):
    content: str | None = None  # the offending content: auditors only, None for everyone else


class ViolationsPage(ApiModel):
    items: list[Violation]
    next_cursor: str | None = None


class StatRow(ApiModel):
    key: str
    label: str
    count: int


StatRows = list[StatRow]


class ViolationsApi:
    def __init__(self, user: UserApi) -> None:
        self._user = user

    async def list(self, filters: Mapping[str, str], cursor: str | None = None, limit: int = 50) -> ViolationsPage:
        params = {**filters, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        body = await self._user.call("GET", "/api/message-policy-violations", params=params)
        return ViolationsPage.model_validate(body)

    async def get(self, violation_id: int) -> ViolationDetail:
        body = await self._user.call("GET", f"/api/message-policy-violations/{violation_id}")
        return ViolationDetail.model_validate(body)

    async def stats(self, by: str, filters: Mapping[str, str]) -> StatRows:
        params = {"by": by, **{key: filters[key] for key in ("from", "to") if filters.get(key)}}
        body = await self._user.call("GET", "/api/message-policy-violations/stats", params=params)
        return [StatRow.model_validate(row) for row in body["rows"]]
