"""What identifies a forwarded call in its usage record: who, which model, from where, with which client and
session, and its request's shape (the CallTrace the ledger turns into a row)."""

from __future__ import annotations

from collections.abc import Iterator

from gateway_api.catalog.snapshot import ModelEntry
from gateway_api.core.log_config import request_id_var
from gateway_api.providers.names import ProviderName
from gateway_api.proxy.accounting.ledger import CallTrace
from gateway_api.proxy.accounting.refused_row import MAX_ADDRESS_LENGTH, MAX_PATH_LENGTH
from gateway_api.proxy.asgi_io import header_value
from gateway_api.proxy.auth import Caller
from gateway_api.proxy.request_model import RequestFacts
from gateway_api.proxy.routes import Endpoint
from gateway_api.server.asgi import Scope

_SESSION_HEADERS = (b"x-claude-code-session-id", b"session-id")


def call_trace(
    scope: Scope,
    provider: ProviderName,
    endpoint: Endpoint,
    caller: Caller,
    model: ModelEntry,
    started: float,
    request_bytes: int,
    request: RequestFacts,
    address: str,
) -> CallTrace:
    return CallTrace(
        provider=provider,
        endpoint=endpoint.kind.value,
        key=caller.key,
        model=model,
        started=started,
        client=header_value(scope, b"user-agent") or "",
        session_id=next(filter(None, (header_value(scope, h) for h in _SESSION_HEADERS)), None),
        call_id=request_id_var.get(),
        request_bytes=request_bytes,
        path=scope["path"][:MAX_PATH_LENGTH],
        method=scope["method"],
        reasoning_effort=request.reasoning_effort,
        client_address=address[:MAX_ADDRESS_LENGTH],
    )


def peer_address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def forwarded_for(scope: Scope) -> Iterator[str]:
    """Lazy: read only when the peer is a trusted proxy (GATEWAY_TRUSTED_PROXIES)."""
    return (value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for")
