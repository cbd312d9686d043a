"""One `UsageRecord` row (as a dict for the recorder) from what the proxy saw of one accounted call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway_api.catalog import KeyEntry, ModelEntry
from gateway_api.db.models import Outcome
from gateway_api.pricing import Price, cost_usd
from gateway_api.proxy.providers import ProviderName
from gateway_api.proxy.usage_parser import TokenUsage

MAX_CLIENT_LENGTH = 300
MAX_ID_LENGTH = 200


@dataclass(slots=True)
class CallTrace:
    """Filled in by the handler as the call goes; turned into a row after the last byte."""

    provider: ProviderName
    endpoint: str
    key: KeyEntry
    model: ModelEntry
    started: float  # loop time
    client: str = ""
    session_id: str | None = None
    streamed: bool = False
    status_code: int = 0
    outcome: Outcome = Outcome.ok
    first_byte_at: float | None = None
    request_id: str | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)


def model_price(model: ModelEntry) -> Price:
    # An unknown price counts as 0 (flagged in the UI) rather than guessing.
    return Price(
        input=model.price_input or 0.0,
        output=model.price_output or 0.0,
        cache_read=model.price_cache_read or 0.0,
        cache_write=model.price_cache_write or 0.0,
    )


def usage_row(trace: CallTrace, finished: float) -> dict[str, Any]:
    usage = trace.usage
    return {
        "created_at": datetime.now(UTC),
        "user_id": trace.key.user_id,
        "api_key_id": trace.key.id,
        "provider": trace.model.provider.name,
        "provider_kind": trace.provider,
        "model": trace.model.name,
        "endpoint": trace.endpoint,
        "streamed": trace.streamed,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cost_usd": cost_usd(usage, model_price(trace.model), trace.provider),
        "status_code": trace.status_code,
        "outcome": trace.outcome,
        "latency_ms": round((finished - trace.started) * 1000, 3),
        "ttfb_ms": None if trace.first_byte_at is None else round((trace.first_byte_at - trace.started) * 1000, 3),
        "client": trace.client[:MAX_CLIENT_LENGTH],
        "session_id": trace.session_id[:MAX_ID_LENGTH] if trace.session_id else None,
        "request_id": trace.request_id[:MAX_ID_LENGTH] if trace.request_id else None,
    }
