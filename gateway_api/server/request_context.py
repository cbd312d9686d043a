"""Per-request id and request metrics, as a raw ASGI wrapper around both the REST API and the proxy.

Every response carries `x-gateway-request-id` (proxied ones too, next to the provider's own request id) and every
log line written while serving the request carries the same id, so a user's report can be matched to the logs.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from typing import Literal

import orjson

from gateway_api.core.log_config import request_id_var
from gateway_api.metrics.registry import GatewayMetrics
from gateway_api.server.asgi import ASGIApp, Message, Receive, Scope, Send, send_whole

REQUEST_ID_HEADER = b"x-gateway-request-id"
Surface = Literal["proxy", "api"]
# The body of an error the wrapper answers itself, in the envelope the surface's clients read.
ErrorBody = Callable[[Scope, int, str], bytes]
# Real clients send a few KiB of headers; uvicorn with httptools sets no limit of its own. A front load balancer
# should refuse earlier (nginx: large_client_header_buffers), this keeps a directly exposed replica safe too.
MAX_HEADER_BYTES = 64 * 1024


class _RequestIds:
    """24 hex digits: a random per-process prefix and a counter. Unique, not secret (they are shown to callers);
    a system call per request would cost more than the id is worth. A forked child draws its own prefix."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._prefix = os.urandom(6).hex()
        self._counter = itertools.count(int.from_bytes(os.urandom(4)))

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


new_request_id = _RequestIds()


class RequestContext:
    """Wraps the ASGI app of one surface (`proxy` or `api`): assigns the request id, adds the header, counts the
    request and its duration. `app` may be swapped (the proxy is built at start-up, after this wrapper)."""

    def __init__(self, app: ASGIApp, surface: Surface, metrics: GatewayMetrics, error_body: ErrorBody) -> None:
        self.app = app
        self._surface = surface
        self._metrics = metrics
        self._error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        request_id_var.set(request_id)  # each ASGI request runs in its own task, so this is request-scoped
        header = (REQUEST_ID_HEADER, request_id.encode())
        started = time.perf_counter()
        status = 500  # if the app raises before answering, the server answers 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            if sum(len(name) + len(value) for name, value in scope["headers"]) > MAX_HEADER_BYTES:
                message = f"request headers are larger than {MAX_HEADER_BYTES} bytes"
                await send_whole(send_with_id, 431, self._error_body(scope, 431, message))
                return
            await self.app(scope, receive, send_with_id)
        finally:
            self._metrics.record_request(self._surface, status, time.perf_counter() - started)


def api_error_body(scope: Scope, status: int, message: str) -> bytes:
    """An error of the gateway's own in FastAPI's shape (`detail`)."""
    return orjson.dumps({"detail": message})
