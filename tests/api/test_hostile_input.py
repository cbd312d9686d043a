"""Hostile bodies at the REST API: malformed, wrongly typed, deeply nested or invalid UTF-8 JSON is a 4xx, never
a 500 (the proxy's own cases are in tests/proxy/test_refusals_and_routing.py)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.live import LiveGateway

DEEP = 100_000  # far beyond the JSON parser's recursion limit
HOSTILE_BODIES = {
    "malformed": b'{"email": "a@example.com", "password": ',
    "not an object": b'["a@example.com", "password"]',
    "wrong types": b'{"email": {"nested": [1, 2]}, "password": 12345}',
    "deep nesting": b"[" * DEEP + b"]" * DEEP,
    "deep nesting in a field": b'{"email": "a@example.com", "password": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "invalid utf-8": b'{"email": "\xff\xfe@example.com", "password": "x\xc3\x28"}',
    "lone surrogate escape": b'{"email": "\\ud800@example.com", "password": "\\udfff"}',
    "empty": b"",
    "huge number": b'{"email": "a@example.com", "password": 1' + b"0" * 5000 + b"}",
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_hostile_sign_in_bodies_are_client_errors(live_gateway: LiveGateway, body: bytes) -> None:
    response = httpx.post(
        f"{live_gateway.url}/api/auth/login", content=body, headers={"content-type": "application/json"}
    )

    assert 400 <= response.status_code < 500, response.text[:300]
    assert "detail" in response.json()


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_hostile_admin_bodies_are_client_errors(live_gateway: LiveGateway, body: bytes) -> None:
    token = live_gateway.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}

    for path in ("/api/users", "/api/policies", "/api/providers", "/api/groups"):
        response = httpx.post(f"{live_gateway.url}{path}", content=body, headers=headers)
        assert 400 <= response.status_code < 500, f"{path}: {response.status_code} {response.text[:300]}"
    # Every field of a key request is optional: an empty or irrelevant object may create one, but never a 500.
    response = httpx.post(f"{live_gateway.url}/api/keys", content=body, headers=headers)
    assert response.status_code < 500, response.text[:300]
