"""CORS is off unless GATEWAY_CORS_ORIGINS lists origins (issue 15), on `gateway serve` (a real process): no
access-control-allow-origin for a page from anywhere else, on the REST API and the proxy alike, and never `*` or
credentials for the listed ones. The UI server's side is in tests/ui/test_security_headers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.proxy.conftest import SONNET
from tests.support.fakes.upstream import FakeUpstream
from tests.support.served import ServedGateway, gateway_environment, serve_gateway

EVIL = "https://evil.example.net"
TOOLS = "https://tools.example.com"
PATHS = ["/api/me", "/api/auth/login", "/api/llm-proxy/anthropic/v1/messages", "/api/llm-proxy/openai/v1/responses"]


def served(tmp_path: Path, fake: FakeUpstream, **settings: str) -> Iterator[ServedGateway]:
    env = gateway_environment(tmp_path / "data", f"sqlite:///{tmp_path / 'gateway.db'}", fake, **settings)
    gateway = serve_gateway(env, tmp_path / "gateway.log")
    try:
        yield gateway
    finally:
        gateway.terminate()


@pytest.fixture
def no_cors(tmp_path: Path, fake_upstream: FakeUpstream) -> Iterator[ServedGateway]:
    yield from served(tmp_path, fake_upstream)


@pytest.fixture
def tools_allowed(tmp_path: Path, fake_upstream: FakeUpstream) -> Iterator[ServedGateway]:
    yield from served(tmp_path, fake_upstream, cors_origins=f"{TOOLS}/")


def preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-api-key",
        },
        timeout=30,
    )


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.startswith("access-control-")}


def model_call(gateway: ServedGateway, key: str, origin: str) -> httpx.Response:
    return httpx.post(
        f"{gateway.anthropic_url}/v1/messages",
        json={"model": SONNET, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-api-key": key, "anthropic-version": "2023-06-01", "Origin": origin},
        timeout=30,
    )


def test_no_origin_is_allowed_by_default(no_cors: ServedGateway) -> None:
    for path in PATHS:
        for origin in (EVIL, "null", TOOLS):
            assert "access-control-allow-origin" not in preflight(no_cors.url + path, origin).headers, path
    session = no_cors.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    me = httpx.get(f"{no_cors.url}/api/me", headers={"Authorization": f"Bearer {session}", "Origin": EVIL}, timeout=30)
    assert me.status_code == 200 and cors_headers(me) == {}
    llm_key = httpx.post(
        f"{no_cors.url}/api/keys", json={"scope": "llm"}, headers={"Authorization": f"Bearer {session}"}, timeout=30
    ).json()["secret"]
    proxied = model_call(no_cors, llm_key, EVIL)
    assert cors_headers(proxied) == {}


def test_only_listed_origins_are_answered_exactly_and_without_credentials(tools_allowed: ServedGateway) -> None:
    for path in PATHS:
        allowed = preflight(tools_allowed.url + path, TOOLS)
        assert allowed.headers["access-control-allow-origin"] == TOOLS, path
        assert "access-control-allow-credentials" not in allowed.headers
        assert "access-control-allow-origin" not in preflight(tools_allowed.url + path, EVIL).headers
    health = httpx.get(f"{tools_allowed.url}/healthz", headers={"Origin": TOOLS}, timeout=30)
    assert health.headers["access-control-allow-origin"] == TOOLS
    evil = httpx.get(f"{tools_allowed.url}/healthz", headers={"Origin": EVIL}, timeout=30)
    assert cors_headers(evil) == {}


def test_a_wildcard_is_refused_at_start(tmp_path: Path, fake_upstream: FakeUpstream) -> None:
    with pytest.raises(RuntimeError, match="GATEWAY_CORS_ORIGINS"):
        next(served(tmp_path, fake_upstream, cors_origins="*"))
