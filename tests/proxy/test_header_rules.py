"""Headers and query allow-listed (issue 15, point 9): what reaches the upstream, what reaches the client."""

from __future__ import annotations

import gzip

import httpx
import orjson
import pytest

from gateway_api.db.models import Outcome
from tests.proxy.conftest import ANTHROPIC_CREDENTIAL, SONNET, ProxyEnv
from tests.proxy.test_refusals_and_routing import call, model_body

ANTHROPIC_TYPES_EXTRA = {415: "invalid_request_error", 502: "api_error"}
HOSTILE_REQUEST_HEADERS = {
    "cookie": "session=browser-cookie",
    "x-forwarded-for": "203.0.113.9",
    "x-forwarded-host": "evil.example",
    "forwarded": "for=203.0.113.9",
    "x-real-ip": "203.0.113.9",
    "openai-organization": "org-of-the-caller",
    "openai-project": "proj-of-the-caller",
    "x-unknown-header": "anything",
    "origin": "https://evil.example",
}


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_only_allow_listed_request_headers_reach_the_upstream(
    proxy_env: ProxyEnv, alice_key: str, provider: str
) -> None:
    kept = {"user-agent": "claude-cli/2.1", "x-stainless-os": "Linux", "content-type": "application/json"}
    kept |= (
        {"anthropic-version": "2023-06-01", "anthropic-beta": "a,b", "x-app": "cli"}
        if provider == "anthropic"
        else {"openai-beta": "responses=v1", "originator": "codex_cli_rs", "x-codex-window-id": "w1"}
    )
    model = SONNET if provider == "anthropic" else "gpt-5"

    response = call(
        proxy_env, provider, key=alice_key, body=model_body(provider, model), headers=HOSTILE_REQUEST_HEADERS | kept
    )

    assert response.status_code == 200, response.text
    received = proxy_env.fake.last_request().headers
    for name in HOSTILE_REQUEST_HEADERS:
        assert name not in received, name
    for name, value in kept.items():
        assert received.get(name) == value, name
    assert alice_key not in " ".join(received.values())


def test_query_string_keeps_only_the_parameters_the_endpoint_defines(proxy_env: ProxyEnv, alice_key: str) -> None:
    body = orjson.dumps(model_body("anthropic", SONNET))
    headers = {"x-api-key": alice_key, "content-type": "application/json"}
    url = f"{proxy_env.anthropic_url}/v1/messages?beta=true&api_key={alice_key}&x=1"
    assert httpx.post(url, headers=headers, content=body, timeout=30).status_code == 200
    assert proxy_env.fake.last_request().query_string == "beta=true"

    openai_headers = {"authorization": f"Bearer {alice_key}"}
    url = f"{proxy_env.openai_url}/responses?api_key={alice_key}"
    response = httpx.post(url, headers=openai_headers, json=model_body("openai", "gpt-5"), timeout=30)
    assert response.status_code == 200
    assert proxy_env.fake.last_request().query_string == ""


@pytest.mark.parametrize("compress", [False, True], ids=["plain-json-labelled-gzip", "gzip-body"])
def test_compressed_request_bodies_are_refused_before_the_upstream(
    proxy_env: ProxyEnv, alice_key: str, compress: bool
) -> None:
    """Plain JSON labelled gzip was once authorised as one model while the upstream ran another."""
    body = orjson.dumps(model_body("anthropic", SONNET))
    content = gzip.compress(body) if compress else body
    headers = {"content-encoding": "gzip"}

    response = call(proxy_env, "anthropic", key=alice_key, body=content, headers=headers)

    assert response.status_code == 415
    assert response.json()["error"]["type"] == ANTHROPIC_TYPES_EXTRA[415]
    assert "compressed request bodies" in response.json()["error"]["message"]
    assert proxy_env.fake.requests == []
    identity = call(proxy_env, "anthropic", key=alice_key, body=body, headers={"content-encoding": "identity"})
    assert identity.status_code == 200


def test_upstream_cookies_and_cors_headers_are_not_relayed(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(
        extra_headers={
            "set-cookie": "upstream_session=1; Path=/",
            "access-control-allow-origin": "*",
            "access-control-allow-credentials": "true",
            "alt-svc": 'h3=":443"',
            "x-upstream-kept": "yes",
        }
    )

    response = call(proxy_env, "anthropic", key=alice_key, body=model_body("anthropic", SONNET))

    assert response.status_code == 200
    for name in ("set-cookie", "access-control-allow-origin", "access-control-allow-credentials", "alt-svc"):
        assert name not in response.headers, name
    assert response.headers["x-upstream-kept"] == "yes"
    assert response.headers["request-id"].startswith("req_")


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_an_upstream_redirect_becomes_a_502_without_its_location(
    proxy_env: ProxyEnv, alice_key: str, status: int
) -> None:
    proxy_env.fake.configure(
        error_status=status, error_headers={"location": "https://attacker.example/steal"}, error_body=b""
    )

    response = call(proxy_env, "anthropic", key=alice_key, body=model_body("anthropic", SONNET))

    assert_envelope_502(response)
    assert "location" not in response.headers
    [row] = proxy_env.usage_rows(1)
    assert (row.status_code, row.outcome) == (502, Outcome.gateway_error)
    received = proxy_env.fake.last_request().headers
    assert received["x-api-key"] == ANTHROPIC_CREDENTIAL


def assert_envelope_502(response: httpx.Response) -> None:
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error == {"type": "api_error", "message": "the anthropic upstream answered with a redirect"}
