"""A websocket upgrade on the proxy path answers a clean 4xx, and expired keys are told so without feeding the
key-guessing throttle (issue 15, point 10)."""

from __future__ import annotations

import base64
import os
import socket
from datetime import timedelta

import orjson
import pytest

from gateway_api.db.models import utcnow
from tests.proxy.conftest import ALICE, SONNET, ProxyEnv
from tests.proxy.test_refusals_and_routing import call, model_body


def websocket_upgrade(env: ProxyEnv, path: str) -> tuple[int, bytes]:
    """A raw RFC 6455 handshake, as Codex with supports_websockets = true sends it; (status, body) of the answer."""
    host, port = env.live.url.removeprefix("http://").split(":")
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request.encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            head, separator, body = received.partition(b"\r\n\r\n")
            if separator and b"content-length:" in head.lower():
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                if len(body) >= length:
                    break
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize(
    ("path", "envelope_key"),
    [("/api/llm-proxy/openai/v1/responses", "error"), ("/api/llm-proxy/anthropic/v1/messages", "type")],
)
def test_a_websocket_upgrade_on_the_proxy_gets_a_clean_400(proxy_env: ProxyEnv, path: str, envelope_key: str) -> None:
    status, body = websocket_upgrade(proxy_env, path)

    assert status == 400
    document = orjson.loads(body)
    assert envelope_key in document
    assert "supports_websockets = false" in body.decode()
    assert proxy_env.fake.requests == []


def test_expired_keys_name_their_expiry_and_never_trip_the_guessing_throttle(proxy_env: ProxyEnv) -> None:
    expired = proxy_env.issue_key(ALICE, expires_at=utcnow() - timedelta(minutes=5))
    body = model_body("anthropic", SONNET)
    attempts = proxy_env.services.settings.login_max_failures * 2

    answers = [call(proxy_env, "anthropic", key=expired, body=body) for _ in range(attempts)]

    assert {response.status_code for response in answers} == {401}
    message = answers[-1].json()["error"]["message"]
    assert message.startswith("this key expired on ") and message.endswith(
        "create a new one with `gateway login --scope llm`"
    )
    # Not one failure was counted against the address: guesses are throttled only after a full window of their own.
    limit = proxy_env.services.settings.login_max_failures
    guesses = [call(proxy_env, "anthropic", key=f"gwk_guess{n:03d}", body=body) for n in range(limit + 1)]
    assert [response.status_code for response in guesses] == [401] * limit + [429]
