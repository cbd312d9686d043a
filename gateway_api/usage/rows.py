"""One finished call as the usage pipeline carries it: built by the proxy's ledger, read by the recorder, the
limits and the metrics; it becomes column values only inside the writer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway_api.db.models import Outcome
from gateway_api.usage.tokens import TokenUsage


@dataclass(slots=True)
class UsageRow:
    created_at: datetime
    user_id: int | None
    api_key_id: int | None
    provider: str  # the provider's name in the gateway
    provider_kind: str  # anthropic / openai
    model: str
    endpoint: str
    streamed: bool
    tokens: TokenUsage
    cost_usd: float
    status_code: int
    outcome: Outcome
    latency_ms: float
    ttfb_ms: float | None
    client: str
    session_id: str | None
    request_id: str | None  # the provider's id of the call
    call_id: str | None  # the gateway's own id of the call (x-gateway-request-id), unique
    usage_estimated: bool = False
    # The call log's fields (migration 0010).
    path: str | None = None
    method: str | None = None
    reasoning_effort: str | None = None
    refusal_reason: str | None = None
    client_address: str | None = None
    key_prefix: str | None = None  # a presented key the gateway does not know: its visible prefix, never the secret
