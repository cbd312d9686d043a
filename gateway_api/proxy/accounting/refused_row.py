"""The call-log row of a call the gateway refused itself (401, 403, 404, 413, 415, 429, 400, 503): who (the user
and key whenever the gateway knows the key, even one it refuses), what, why, at no cost, and the sink that takes
such rows without letting a flood of them grow memory.

Refused calls are cheap to send (no key needed for a 401), so their rows are bounded: while the usage recorder
already holds ``MAX_QUEUED_REFUSALS`` rows waiting for the database (an outage, a flood faster than the writer),
further refused calls are counted in ``gateway_call_log_refusals_dropped`` instead of queued. Forwarded calls'
rows are never dropped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway_api.catalog.snapshot import Catalog
from gateway_api.core.log_config import request_id_var
from gateway_api.db.models import Outcome
from gateway_api.proxy.accounting.ledger import MAX_CLIENT_LENGTH, MAX_ID_LENGTH
from gateway_api.proxy.asgi_io import header_value
from gateway_api.proxy.auth import Caller, presented_key
from gateway_api.proxy.refusal import KnownKey, Refusal
from gateway_api.proxy.request_model import RequestFacts
from gateway_api.proxy.routes import Endpoint
from gateway_api.security.keys import KEY_PREFIX, visible_prefix
from gateway_api.server.asgi import Scope
from gateway_api.usage.rows import UsageRow
from gateway_api.usage.tokens import TokenUsage

MAX_QUEUED_REFUSALS = 50_000
MAX_PATH_LENGTH = 300
MAX_REASON_LENGTH = 300
MAX_MODEL_LENGTH = 200
MAX_ADDRESS_LENGTH = 64


@dataclass(slots=True)
class RefusedCall:
    """What the handler knows of a call when it refuses it (the later the step, the more)."""

    provider_kind: str  # the route's (anthropic / openai)
    endpoint: str  # the endpoint kind, "" for a path that is not proxied
    path: str
    method: str
    started: float  # loop time
    client: str  # user agent
    session_id: str | None
    client_address: str | None
    call_id: str | None
    caller: Caller | None = None
    provider: str | None = None  # the gateway's provider name, when the requested model is known
    model: str = ""  # as requested
    reasoning_effort: str | None = None
    presented_key: str | None = None  # the secret a 401 was given: only its prefix is kept, and only a gateway key's


SESSION_HEADERS = (b"x-claude-code-session-id", b"session-id")
_AUTH_HEADERS = (b"authorization", b"x-api-key")


def refused_call(
    scope: Scope,
    provider_kind: str,
    endpoint: Endpoint | None,
    started: float,
    address: str,
    caller: Caller | None,
    request: RequestFacts | None,
    catalog: Catalog,
) -> RefusedCall:
    """What the handler knew when it refused: read from the request again here, off the path of forwarded calls."""
    call = RefusedCall(
        provider_kind=provider_kind,
        endpoint=endpoint.kind.value if endpoint is not None else "",
        path=scope["path"],
        method=scope["method"],
        started=started,
        client=header_value(scope, b"user-agent") or "",
        session_id=next(filter(None, (header_value(scope, h) for h in SESSION_HEADERS)), None),
        client_address=address,
        call_id=request_id_var.get(),
        caller=caller,
    )
    if caller is None:
        secret = presented_key([(n, v) for n, v in scope["headers"] if n in _AUTH_HEADERS])
        call.presented_key = secret if isinstance(secret, str) else None
    if request is not None:
        call.model = request.model
        call.reasoning_effort = request.reasoning_effort
        known = catalog.snapshot.models_by_name.get(request.model)
        if known is not None:
            call.provider = known.provider.name
    return call


def _text(value: str, limit: int) -> str:
    """Client-chosen text as a column value: PostgreSQL refuses NUL in text (a percent-encoded %00 in a path, a
    \u0000 in a model name), which would cost the row, so it becomes U+FFFD."""
    return value[:limit].replace("\x00", "\ufffd")


def refused_row(call: RefusedCall, refusal: Refusal, finished: float) -> UsageRow:
    # The caller once the key passed; before, the key the refusal names when the gateway issued it (revoked,
    # expired, deactivated user, no llm scope); otherwise nobody, and at most a prefix of what was presented.
    key = (
        KnownKey(user_id=call.caller.key.user_id, key_id=call.caller.key.id) if call.caller is not None else refusal.key
    )
    return UsageRow(
        created_at=datetime.now(UTC),
        user_id=key.user_id if key is not None else None,
        api_key_id=key.key_id if key is not None else None,
        provider=call.provider or call.provider_kind,
        provider_kind=call.provider_kind,
        model=_text(call.model, MAX_MODEL_LENGTH),
        endpoint=call.endpoint,
        streamed=False,
        tokens=TokenUsage(),
        cost_usd=0.0,
        status_code=refusal.status,
        outcome=Outcome.refused,
        latency_ms=round((finished - call.started) * 1000, 3),
        ttfb_ms=None,
        client=_text(call.client, MAX_CLIENT_LENGTH),
        session_id=_text(call.session_id, MAX_ID_LENGTH) if call.session_id else None,
        request_id=None,
        call_id=call.call_id,
        path=_text(call.path, MAX_PATH_LENGTH),
        method=call.method[:10],
        reasoning_effort=_text(call.reasoning_effort, 32) if call.reasoning_effort else None,
        refusal_reason=_text(refusal.message, MAX_REASON_LENGTH),
        client_address=call.client_address[:MAX_ADDRESS_LENGTH] if call.client_address else None,
        key_prefix=_known_prefix(call.presented_key) if key is None else None,
    )


def _known_prefix(secret: str | None) -> str | None:
    """A gateway key's visible prefix. Anything else presented (a provider's key sent to the wrong host, a typo)
    could be someone's real secret: not even a prefix of it is kept."""
    if secret is None or not secret.startswith(KEY_PREFIX):
        return None
    return visible_prefix(secret)


class RefusalSink:
    """Refused calls' rows into the usage pipeline (recorder and spool, as forwarded calls' rows), bounded."""

    def __init__(self, accept: Callable[[UsageRow], None], queued: Callable[[], int]) -> None:
        self._accept = accept
        self._queued = queued
        self.dropped = 0

    def __call__(self, row: UsageRow) -> None:
        if self._queued() >= MAX_QUEUED_REFUSALS:
            self.dropped += 1
            return
        self._accept(row)
