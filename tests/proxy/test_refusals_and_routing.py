"""Every refusal in the caller's provider envelope, hostile paths never forwarded, base URL and model name shapes."""

from __future__ import annotations

import socket
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import select

from gateway_api.accounts.api_keys import issue_key, revoke_key
from gateway_api.accounts.users import find_user
from gateway_api.db.config_version import bump_config_version
from gateway_api.db.engine import session_scope
from gateway_api.db.models import ApiKey, Provider, Scope, utcnow
from gateway_api.providers.credential_binding import origin_of
from gateway_api.security.keys import digest_key, new_api_key
from tests.proxy.conftest import ALICE, BOB, CAROL, SLASHED_ANTHROPIC_MODEL, SONNET, ProxyEnv

ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error"}
ANTHROPIC_TYPES |= {404: "not_found_error", 413: "request_too_large"}


def call(
    env: ProxyEnv, provider: str, *, key: str | None, body: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    all_headers = {**({"x-api-key": key} if key and provider == "anthropic" else {}), **(headers or {})}
    if key and provider == "openai":
        all_headers["authorization"] = f"Bearer {key}"
    path = "/v1/messages" if provider == "anthropic" else "/v1/responses"
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    return httpx.post(
        f"{env.live.url}/api/llm-proxy/{provider}{path}", headers=all_headers, content=content, timeout=30
    )


def assert_envelope(response: httpx.Response, provider: str, status: int, message_part: str) -> None:
    assert response.status_code == status, response.text
    document = response.json()
    if provider == "anthropic":
        assert document["type"] == "error"
        assert document["error"]["type"] == ANTHROPIC_TYPES[status]
        message = document["error"]["message"]
    else:
        assert set(document["error"]) == {"message", "type", "param", "code"}
        message = document["error"]["message"]
    assert message_part in message, message


def model_body(provider: str, model: Any) -> dict[str, Any]:
    return (
        {"model": model, "max_tokens": 8, "messages": []} if provider == "anthropic" else {"model": model, "input": "x"}
    )


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_auth_refusals(proxy_env: ProxyEnv, alice_key: str, provider: str) -> None:
    model = SONNET if provider == "anthropic" else "gpt-5"
    body = model_body(provider, model)
    ui_key = proxy_env.issue_key(ALICE, scopes=frozenset({Scope.ui}))
    carol_key = proxy_env.issue_key(CAROL)
    past_key = proxy_env.issue_key(ALICE, expires_at=utcnow() - timedelta(seconds=1))
    expires_at = utcnow() + timedelta(seconds=3)
    expiring_key = proxy_env.issue_key(ALICE, expires_at=expires_at)
    assert call(proxy_env, provider, key=expiring_key, body=body).status_code == 200
    time.sleep(max(0.0, (expires_at - utcnow()).total_seconds()) + 0.1)  # expired, though still in the snapshot

    cases: list[tuple[str | None, dict[str, str], int, str]] = [
        (None, {}, 401, "missing API key"),
        ("not-a-gateway-key", {}, 401, "invalid API key"),
        ("gwk_" + "x" * 43, {}, 401, "invalid API key"),
        (alice_key, {"x-api-key": "gwk_other", "authorization": f"Bearer {alice_key}"}, 401, "different keys"),
        (None, {"authorization": f"Basic {alice_key}"}, 401, "Bearer"),
        (past_key, {}, 401, "this key expired on "),  # looked up in the database: an expired key, not a guess
        (expiring_key, {}, 401, "this key expired on "),
        (carol_key, {}, 401, "deactivated"),
        (ui_key, {}, 403, "llm scope"),
    ]
    for key, headers, status, message in cases:
        assert_envelope(call(proxy_env, provider, key=key, body=body, headers=headers), provider, status, message)
    assert len(proxy_env.fake.requests) == 1  # only the call made while the key was still valid
    proxy_env.usage_rows(1)


def test_both_auth_headers_with_the_same_key_are_accepted_and_neither_is_forwarded(
    proxy_env: ProxyEnv, alice_key: str
) -> None:
    headers = {"authorization": f"Bearer {alice_key}"}  # plus x-api-key from call()

    response = call(proxy_env, "anthropic", key=alice_key, body=model_body("anthropic", SONNET), headers=headers)

    assert response.status_code == 200
    received = proxy_env.fake.last_request().headers
    assert "authorization" not in received
    assert received.getall("x-api-key") == ["sk-ant-upstream-credential-0001"]


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_body_and_model_refusals(proxy_env: ProxyEnv, alice_key: str, provider: str) -> None:
    other = "gpt-5" if provider == "anthropic" else SONNET
    not_granted = "o4-mini" if provider == "openai" else "claude-unconfigured-1"
    cases: list[tuple[Any, int, str]] = [
        (b"{not json", 400, "not valid JSON"),
        (b"\xff\xfe{}", 400, "not valid JSON"),
        (b"[" * 5000 + b"]" * 5000, 400, "not valid JSON"),  # nesting deeper than any parser should follow
        ([{"model": SONNET}], 400, "JSON object"),
        ({"messages": []}, 400, '"model"'),
        (model_body(provider, 42), 400, '"model"'),
        (model_body(provider, "no-such-model"), 404, '"no-such-model"'),
        (model_body(provider, "claude-retired"), 404, '"claude-retired"'),
        (model_body(provider, other), 400, "does not match the provider for this route"),
    ]
    if provider == "openai":
        cases.append(
            (model_body(provider, not_granted), 403, f'user does not have permission to use model "{not_granted}"')
        )
    else:
        # Granted by claude-*, but its provider has no credential: the message says which provider.
        cases.append((model_body(provider, not_granted), 400, 'provider "anthropic-unconfigured"'))
    for body, status, message in cases:
        assert_envelope(call(proxy_env, provider, key=alice_key, body=body), provider, status, message)
    assert proxy_env.fake.requests == []


def test_policy_refusal_names_the_model_as_sent(proxy_env: ProxyEnv) -> None:
    bob_key = proxy_env.issue_key(BOB)

    response = call(proxy_env, "anthropic", key=bob_key, body=model_body("anthropic", SONNET))

    assert_envelope(response, "anthropic", 403, f'user does not have permission to use model "{SONNET}"')
    assert (
        call(proxy_env, "anthropic", key=bob_key, body=model_body("anthropic", "claude-haiku-4-5")).status_code == 200
    )


def test_oversized_bodies_are_refused_with_413(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.services.settings.max_body_bytes = 2048
    big = model_body("openai", "gpt-5") | {"input": "x" * 4096}

    declared = call(proxy_env, "openai", key=alice_key, body=big)
    chunked = httpx.post(
        f"{proxy_env.openai_url}/responses",
        headers={"authorization": f"Bearer {alice_key}"},
        content=iter([b'{"model":"gpt-5","input":"', b"x" * 4096, b'"}']),  # no content-length: counted as read,
        timeout=30,
    )

    assert_envelope(declared, "openai", 413, "larger than 2048 bytes")
    assert_envelope(chunked, "openai", 413, "larger than 2048 bytes")
    assert proxy_env.fake.requests == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/llm-proxy/openai/v1/completions"),
        ("POST", "/api/llm-proxy/openai/v1/files"),
        ("GET", "/api/llm-proxy/anthropic/v1/messages"),
        ("DELETE", "/api/llm-proxy/openai/v1/models/gpt-5"),
        ("POST", "/api/llm-proxy/anthropic/v1/messages/batches"),
        ("HEAD", "/api/llm-proxy/openai"),
        ("POST", "/api/llm-proxy/gemini/v1/messages"),
    ],
)
def test_unknown_endpoints_are_gateway_404s(proxy_env: ProxyEnv, alice_key: str, method: str, path: str) -> None:
    headers = {"x-api-key": alice_key, "authorization": f"Bearer {alice_key}"}

    response = httpx.request(
        method, proxy_env.live.url + path, headers=headers, json=model_body("openai", "gpt-5"), timeout=30
    )

    assert response.status_code == 404
    if method != "HEAD":
        assert "error" in response.json()
    assert proxy_env.fake.requests == []


HOSTILE_PATHS = [
    b"/api/llm-proxy/anthropic/v1/../v1/messages",
    b"/api/llm-proxy/anthropic/v1/%2e%2e/v1/messages",
    b"/api/llm-proxy/anthropic/v1%2fmessages",
    b"/api/llm-proxy/anthropic//evil.example/v1/messages",
    b"/api/llm-proxy/anthropic/http://evil.example/v1/messages",
    b"/api/llm-proxy/anthropic/v1/messages/..%2f..%2fmodels",
    b"/api/llm-proxy/openai/v1/responses/../../../anthropic/v1/messages",
    b"/api/llm-proxy/openai/v1/responses%00",
    b"/api/llm-proxy/openai/v1/models/..%2F..%2Fresponses",
    b"/api/llm-proxy/openai/v1/models/%252e%252e",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS, ids=lambda p: p.decode())
def test_hostile_paths_are_never_forwarded(proxy_env: ProxyEnv, alice_key: str, path: bytes) -> None:
    host, port = proxy_env.live.url.removeprefix("http://").split(":")
    body = httpx.Request("POST", "/", json=model_body("anthropic", SONNET)).content
    method = b"GET" if b"/models/" in path else b"POST"
    request = (
        method + b" " + path + b" HTTP/1.1\r\nHost: gateway\r\nx-api-key: " + alice_key.encode()
        + b"\r\nauthorization: Bearer " + alice_key.encode()
        + b"\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: "
        + str(len(body)).encode() + b"\r\n\r\n" + body
    )  # fmt: skip
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk

    status = int(reply.split(b" ", 2)[1])
    assert status in (400, 404), reply[:300]
    assert proxy_env.fake.requests == []


def test_head_probe_is_answered_without_auth(proxy_env: ProxyEnv) -> None:
    for path in ("/api/llm-proxy/anthropic", "/api/llm-proxy/anthropic/", "/api/llm-proxy/anthropic/v1"):
        assert httpx.head(proxy_env.live.url + path, timeout=30).status_code == 200
    assert proxy_env.fake.requests == []


def _set_base_urls(env: ProxyEnv, anthropic: str, openai: str) -> None:
    with session_scope(env.engine) as session:
        for name, url in (("anthropic", anthropic), ("openai", openai)):
            provider = session.exec(select(Provider).where(Provider.name == name)).one()
            provider.base_url = url
            provider.credential_origin = origin_of(url)  # moved with its key (credentials are bound to a host)
            session.add(provider)
        bump_config_version(session)
    env.services.catalog.reload()


@pytest.mark.parametrize("provider_v1", [False, True], ids=["provider-without-v1", "provider-with-v1"])
def test_base_urls_with_and_without_v1_on_both_sides(proxy_env: ProxyEnv, alice_key: str, provider_v1: bool) -> None:
    suffix = "/v1" if provider_v1 else ""
    _set_base_urls(proxy_env, proxy_env.fake.anthropic_base_url + suffix, proxy_env.fake.openai_base_url + suffix)
    base = f"{proxy_env.live.url}/api/llm-proxy"
    auth = {"x-api-key": alice_key, "authorization": f"Bearer {alice_key}"}

    for client_path in ("/anthropic/v1/messages", "/anthropic/messages"):
        response = httpx.post(
            base + client_path + "?beta=true", headers=auth, json=model_body("anthropic", SONNET), timeout=30
        )
        assert response.status_code == 200
        received = proxy_env.fake.last_request()
        assert (received.path, received.query_string) == ("/anthropic/v1/messages", "beta=true")
    for client_path in ("/openai/v1/responses", "/openai/responses"):
        assert (
            httpx.post(base + client_path, headers=auth, json=model_body("openai", "gpt-5"), timeout=30).status_code
            == 200
        )
        assert proxy_env.fake.last_request().path == "/openai/v1/responses"


def test_model_names_containing_a_slash(proxy_env: ProxyEnv, alice_key: str) -> None:
    body = model_body("anthropic", SLASHED_ANTHROPIC_MODEL)

    response = call(proxy_env, "anthropic", key=alice_key, body=body)
    listed = httpx.get(
        f"{proxy_env.anthropic_url}/v1/models/{SLASHED_ANTHROPIC_MODEL}",
        headers={"x-api-key": alice_key},
        timeout=30,
    )

    assert response.status_code == 200
    assert proxy_env.fake.last_request().json()["model"] == SLASHED_ANTHROPIC_MODEL
    assert listed.json()["id"] == SLASHED_ANTHROPIC_MODEL
    [row] = proxy_env.usage_rows(1)
    assert row.model == SLASHED_ANTHROPIC_MODEL


def test_a_key_issued_elsewhere_works_at_once_and_a_revoked_one_stops(proxy_env: ProxyEnv) -> None:
    """Another replica issued the key: the snapshot does not know it yet, one DB look-up finds it."""
    with session_scope(proxy_env.engine) as session:
        user = find_user(session, ALICE)
        assert user is not None
        _, secret = issue_key(session, proxy_env.services.key_pepper, user, {Scope.llm}, expires_at=None)
    assert call(proxy_env, "openai", key=secret, body=model_body("openai", "gpt-5")).status_code == 200

    digest = digest_key(secret, proxy_env.services.key_pepper)
    with session_scope(proxy_env.engine) as session:
        revoke_key(session, session.exec(select(ApiKey).where(ApiKey.digest == digest)).one())
    deadline = time.monotonic() + 5
    while call(proxy_env, "openai", key=secret, body=model_body("openai", "gpt-5")).status_code == 200:
        assert time.monotonic() < deadline, "a revoked key kept working"
        time.sleep(0.05)
    assert_envelope(call(proxy_env, "openai", key=secret, body=model_body("openai", "gpt-5")), "openai", 401, "invalid")


def test_a_key_written_without_a_version_bump_still_works(proxy_env: ProxyEnv) -> None:
    new = new_api_key(proxy_env.services.key_pepper)
    with session_scope(proxy_env.engine) as session:  # e.g. a tool writing the row directly
        user = find_user(session, ALICE)
        assert user is not None and user.id is not None
        session.add(ApiKey(user_id=user.id, prefix=new.prefix, digest=new.digest, scopes="llm"))

    assert call(proxy_env, "openai", key=new.secret, body=model_body("openai", "gpt-5")).status_code == 200
