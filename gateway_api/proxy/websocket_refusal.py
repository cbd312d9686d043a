"""A websocket upgrade on the proxy path gets a plain 4xx in the provider's envelope (the proxy relays HTTP only).

Codex with `supports_websockets = true` opens `GET /v1/responses` as a websocket and does not fall back, so the
answer says what to change. Servers offering the `websocket.http.response` extension (uvicorn's) get a real
response with a body; others get the handshake refused (uvicorn answers that with 403).
"""

from __future__ import annotations

from gateway_api.providers.spec import error_body
from gateway_api.proxy.routes import FALLBACK_PROVIDER, split_target
from gateway_api.server.asgi import Receive, Scope, Send

WEBSOCKET_REFUSAL_STATUS = 400
_MESSAGE = "websocket connections are not proxied; call the HTTP endpoint (Codex: supports_websockets = false)"


async def refuse_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    provider, _ = split_target(scope.get("raw_path") or scope["path"].encode())
    body = error_body(provider or FALLBACK_PROVIDER, WEBSOCKET_REFUSAL_STATUS, _MESSAGE)
    message = await receive()
    if message["type"] != "websocket.connect":
        return  # the client is already gone
    if "websocket.http.response" in scope.get("extensions", {}):
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "websocket.http.response.start", "status": WEBSOCKET_REFUSAL_STATUS, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "websocket.close", "code": 1008})
