"""The proxy's message-policy step (README "Message policies"), used only for callers the catalog names in a policy.

Before forwarding: the request body is parsed once, its text found per scope (message_policies/requests/extraction.py) and
the caller's policies applied (message_policies/engine.py). What goes upstream is always the document as checked,
serialised again: a body with duplicate keys or an unusual encoding must not read one way to the policies and
another way to the provider. A block answers the client in the provider's own format (blocked_reply.py), leaves
a refused row in the call log and forwards nothing.

After: a reply that may carry tool calls passes through a ToolCallGuard when a policy covers tool calls.
Violations are queued for the violation recorder with the call's id (its usage record's call_id).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import orjson

from gateway_api.catalog.snapshot import Catalog, KeyEntry
from gateway_api.core.log_config import request_id_var
from gateway_api.limits.limiter import Limiter
from gateway_api.limits.reservations import Ticket
from gateway_api.message_policies.engine import check_request, check_tool_calls
from gateway_api.message_policies.patterns import PatternCache
from gateway_api.message_policies.replies.blocked_reply import blocked_reply
from gateway_api.message_policies.replies.tool_call_guard import ToolCallGuard
from gateway_api.message_policies.requests.extraction import inspect_request
from gateway_api.message_policies.rules import MessagePolicyEntry, PolicyScope, Violation
from gateway_api.message_policies.stored.violations import ViolationRecorder
from gateway_api.message_policies.verdicts import Judge, ToolCallText
from gateway_api.providers.names import ProviderName
from gateway_api.providers.spec import EndpointKind
from gateway_api.proxy.accounting.ledger import UsageLedger
from gateway_api.proxy.accounting.refused_row import refused_call, refused_row
from gateway_api.proxy.auth import Caller
from gateway_api.proxy.refusal import Refusal
from gateway_api.proxy.request_model import RequestFacts
from gateway_api.proxy.routes import Endpoint
from gateway_api.server.asgi import Scope, Send, send_whole

# Bodies past this are parsed and serialised off the event loop (the proxy's large-body threshold).
PARSE_IN_THREAD_BYTES = 1024 * 1024
# What a tool-call guard may hold of one reply (held events, or a whole JSON reply): a Codex stream's first event
# echoes its instructions and tools (tens of KB); a reply past this ends with the provider's error event.
MAX_HELD_REPLY_BYTES = 8 * 1024 * 1024
_GUARDED_KINDS = frozenset({EndpointKind.MESSAGES, EndpointKind.CHAT_COMPLETIONS, EndpointKind.RESPONSES})


class PolicyBlocked(Exception):
    """A message policy blocked the request; the client has its answer and the call its row."""


class _Unparsed:
    """A body the gateway's JSON reader refuses (orjson: integers past 64 bits, lone surrogates): unreadable."""


@dataclass(slots=True)
class RequestCheck:
    blocked: Violation | None
    body: bytes  # what is forwarded: the checked document, serialised again (redactions applied)
    violations: list[Violation] = field(default_factory=list)


class MessagePolicyStep:
    """Built at start-up (app.py) with the judge, a pattern cache, the violation recorder, and what a blocked call
    answers to: the ledger (its row), the limits (its reservation and slots) and the catalog (its provider)."""

    def __init__(
        self,
        judge: Judge,
        patterns: PatternCache,
        violations: ViolationRecorder,
        ledger: UsageLedger,
        limits: Limiter,
        catalog: Catalog,
        max_held_bytes: int = MAX_HELD_REPLY_BYTES,
    ) -> None:
        self._judge = judge
        self._patterns = patterns
        self._violations = violations
        self._ledger = ledger
        self._limits = limits
        self._catalog = catalog
        self._max_held_bytes = max_held_bytes

    async def screen_request(
        self,
        policies: tuple[MessagePolicyEntry, ...],
        scope: Scope,
        send: Send,
        provider: ProviderName,
        endpoint: Endpoint,
        started: float,
        address: str,
        caller: Caller,
        request: RequestFacts,
        body: bytes,
        ticket: Ticket | None,
    ) -> bytes:
        """The body to forward (the checked document, redactions applied); or PolicyBlocked once the client has its
        answer. Violations are queued with the call's id, which its usage record carries."""
        try:
            checked = await self.check_request(policies, provider, endpoint.kind, body)
        except BaseException:
            if ticket is not None:
                self._limits.end(ticket)
            raise
        call_id = request_id_var.get()
        if checked.blocked is None:
            self.record(checked.violations, caller.key, call_id)
            return checked.body
        try:
            await self._answer_blocked(scope, send, provider, endpoint, started, address, caller, request, checked)
        finally:
            self.record(checked.violations, caller.key, call_id)
            if ticket is not None:
                self._limits.end(ticket)
        raise PolicyBlocked

    async def check_request(
        self, policies: tuple[MessagePolicyEntry, ...], provider: ProviderName, kind: EndpointKind, body: bytes
    ) -> RequestCheck:
        large = len(body) > PARSE_IN_THREAD_BYTES
        document = await asyncio.to_thread(_parsed, body) if large else _parsed(body)
        inspection = inspect_request(provider, kind, document)
        decision = await check_request(policies, inspection, self._judge, self._patterns)
        if decision.blocked is not None or isinstance(document, _Unparsed):
            return RequestCheck(decision.blocked, body, decision.violations)
        forwarded = await asyncio.to_thread(orjson.dumps, document) if large else orjson.dumps(document)
        return RequestCheck(None, forwarded, decision.violations)

    def reply_guard(
        self, policies: tuple[MessagePolicyEntry, ...], provider: ProviderName, kind: EndpointKind, streamed: bool
    ) -> ToolCallGuard | None:
        """A guard for a reply's tool calls when a policy covers them, else None (the reply is relayed as it is)."""
        guarded = tuple(p for p in policies if PolicyScope.tool_calls in p.scopes)
        if not guarded or kind not in _GUARDED_KINDS:
            return None
        judge, patterns = self._judge, self._patterns

        async def judge_calls(calls: list[ToolCallText]) -> list[list[Violation]]:
            return await check_tool_calls(guarded, calls, judge, patterns)

        return ToolCallGuard(provider, kind, streamed, judge_calls, self._max_held_bytes)

    def record(self, violations: list[Violation], key: KeyEntry, call_id: str | None) -> None:
        if violations:
            self._violations.record(violations, key.user_id, key.id, call_id)

    async def _answer_blocked(
        self,
        scope: Scope,
        send: Send,
        provider: ProviderName,
        endpoint: Endpoint,
        started: float,
        address: str,
        caller: Caller,
        request: RequestFacts,
        checked: RequestCheck,
    ) -> None:
        """Nothing is forwarded and nothing billed: the client gets a reply in its provider's format saying which
        policy blocked the request and why; the call log gets a refused row, which takes back the reservation."""
        violation = checked.blocked
        assert violation is not None  # only blocked checks are answered here
        reply = blocked_reply(
            provider,
            endpoint.kind,
            request.model,
            request.stream,
            violation.policy_name,
            violation.explanation,
            include_usage=request.include_usage,
        )
        await send_whole(send, reply.status, reply.body, reply.headers)
        call = refused_call(scope, provider, endpoint, started, address, caller, request, self._catalog)
        reason = f'blocked by message policy "{violation.policy_name}": {violation.explanation}'
        row = refused_row(call, Refusal(reply.status, reason), asyncio.get_running_loop().time())
        self._ledger.refused(row)
        self._limits.count(row)  # a row with nothing used: the call's reservation comes back


def _parsed(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _Unparsed()
