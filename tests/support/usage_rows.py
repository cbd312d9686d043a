"""A finished call's UsageRow for tests, with plausible values for every field a test does not set."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway_api.db.models import Outcome
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.tokens import TOKEN_FIELDS, TokenUsage


def make_usage_row(**changes: Any) -> UsageRow:
    """Token fields (input_tokens, ...) may be given flat, as the record's columns name them."""
    tokens = TokenUsage(**{name: changes.pop(name) for name in TOKEN_FIELDS if name in changes})
    values: dict[str, Any] = {
        "created_at": datetime.now(UTC),
        "user_id": 1,
        "api_key_id": 1,
        "provider": "anthropic",
        "provider_kind": "anthropic",
        "model": "claude-sonnet-4-5",
        "endpoint": "messages",
        "streamed": False,
        "tokens": tokens,
        "cost_usd": 0.0,
        "status_code": 200,
        "outcome": Outcome.ok,
        "latency_ms": 100.0,
        "ttfb_ms": 10.0,
        "client": "",
        "session_id": None,
        "request_id": None,
        "call_id": None,
    }
    return UsageRow(**{**values, **changes})
