"""The row a call leaves if the process dies while it is in flight, spooled as the call is forwarded: the
gateway's error, its input estimated from the request's size (usage/estimates.py), nothing for the output that
was never seen, flagged as estimated. The call's real row replaces it when the call ends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from gateway_api.db.models import Outcome
from gateway_api.providers.pricing import TOKENS_PER_PRICE_UNIT
from gateway_api.proxy.accounting.ledger import MAX_CLIENT_LENGTH, MAX_ID_LENGTH, CallTrace
from gateway_api.usage.estimates import tokens_for_bytes
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.spool import UsageSpool
from gateway_api.usage.tokens import TokenUsage


def crash_row(trace: CallTrace) -> UsageRow:
    input_tokens = tokens_for_bytes(trace.request_bytes)
    tokens = TokenUsage(input_tokens=input_tokens)
    return UsageRow(
        created_at=datetime.now(UTC),
        user_id=trace.key.user_id,
        api_key_id=trace.key.id,
        provider=trace.model.provider.name,
        provider_kind=trace.provider,
        model=trace.model.name,
        endpoint=trace.endpoint,
        streamed=trace.streamed,
        tokens=tokens,
        # pricing.cost_usd of input alone (no cache, no output), spelled out: this runs for every forwarded call.
        cost_usd=input_tokens * (trace.model.price_input or 0.0) / TOKENS_PER_PRICE_UNIT,
        status_code=0,  # no response the gateway could record
        outcome=Outcome.gateway_error,
        latency_ms=0.0,
        ttfb_ms=None,
        client=trace.client[:MAX_CLIENT_LENGTH],
        session_id=trace.session_id[:MAX_ID_LENGTH] if trace.session_id else None,
        request_id=None,
        call_id=trace.call_id,
        usage_estimated=True,
        path=trace.path,
        method=trace.method,
        reasoning_effort=trace.reasoning_effort,
        client_address=trace.client_address,
    )


def spool_start(spool: UsageSpool) -> Callable[[CallTrace], None]:
    """The ledger's start hook: each forwarded call's crash row into the spool."""
    started = spool.started

    def begin(trace: CallTrace) -> None:
        started(crash_row(trace))

    return begin
