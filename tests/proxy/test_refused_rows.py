"""The call log: every call leaves a usage record, refused ones too (at no cost, with why and who when known)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
from sqlmodel import Session, select

from gateway_api.accounts.api_keys import revoke_key
from gateway_api.db.engine import session_scope
from gateway_api.db.models import ApiKey, CallBody, Outcome, Scope, utcnow
from gateway_api.security.keys import digest_key
from gateway_api.usage.filters import UsageFilter
from gateway_api.usage.queries import summary
from tests.proxy.conftest import ALICE, CAROL, SONNET, ProxyEnv
from tests.proxy.test_refusals_and_routing import call, model_body

CLIENT = {"user-agent": "claude-cli/2.0 (external, cli)", "x-claude-code-session-id": "session-42"}


def test_each_refusal_leaves_a_row_with_its_status_and_reason(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.services.settings.max_body_bytes = 4096
    unknown_gateway_key = "gwk_" + "Q" * 43
    provider_secret = "sk-ant-api03-" + "S" * 40
    cases = [
        (None, model_body("anthropic", SONNET), 401),
        (unknown_gateway_key, model_body("anthropic", SONNET), 401),
        (provider_secret, model_body("anthropic", SONNET), 401),
        (alice_key, b"{not json", 400),
        (alice_key, model_body("anthropic", "no-such-model"), 404),
        (alice_key, model_body("anthropic", SONNET) | {"pad": "x" * 5000}, 413),
    ]
    for key, body, status in cases:
        assert call(proxy_env, "anthropic", key=key, body=body, headers=CLIENT).status_code == status
    not_proxied = httpx.post(f"{proxy_env.live.url}/api/llm-proxy/anthropic/v1/files", headers=CLIENT, timeout=30)
    assert not_proxied.status_code == 404
    ok = call(proxy_env, "anthropic", key=alice_key, body=model_body("anthropic", SONNET), headers=CLIENT)
    assert ok.status_code == 200

    refused = proxy_env.refused_rows(7)
    forwarded = proxy_env.usage_rows(1)

    assert [row.status_code for row in refused] == [401, 401, 401, 400, 404, 413, 404]
    assert {row.outcome for row in refused} == {Outcome.refused}
    assert all(row.cost_usd == 0 and row.input_tokens == 0 and row.output_tokens == 0 for row in refused)
    assert all(row.client == CLIENT["user-agent"] and row.session_id == "session-42" for row in refused)
    assert all(row.client_address == "127.0.0.1" and row.method == "POST" for row in refused)
    assert all(row.call_id for row in refused)
    assert [row.path for row in refused] == ["/api/llm-proxy/anthropic/v1/messages"] * 6 + [
        "/api/llm-proxy/anthropic/v1/files"
    ]
    missing, unknown, foreign, not_json, no_model, too_big, no_route = refused
    assert missing.refusal_reason is not None and "missing API key" in missing.refusal_reason
    # An unknown gateway key is named by its visible prefix; anything else presented could be a real secret.
    assert unknown.key_prefix == unknown_gateway_key[:12] and unknown.user_id is None
    assert foreign.key_prefix is None
    assert all(provider_secret[4:] not in str(row.model_dump()) for row in refused)
    assert (not_json.user_id, not_json.api_key_id) == (forwarded[0].user_id, forwarded[0].api_key_id)
    assert not_json.key_prefix is None
    assert no_model.model == "no-such-model" and no_model.refusal_reason is not None
    assert too_big.refusal_reason == "request body is larger than 4096 bytes"
    assert no_route.endpoint == "" and no_route.refusal_reason is not None
    # The forwarded call carries the same identification, and the provider's request id.
    assert forwarded[0].path == "/api/llm-proxy/anthropic/v1/messages" and forwarded[0].request_id
    assert forwarded[0].client_address == "127.0.0.1" and forwarded[0].refusal_reason is None

    # Token Usage counts the forwarded call only; the refused ones are there when asked for by outcome.
    since = utcnow() - timedelta(hours=1)
    with Session(proxy_env.engine) as session:
        assert summary(session, UsageFilter(start=since)).requests == 1
        assert summary(session, UsageFilter(start=since, outcome=Outcome.refused)).requests == 7
        assert session.exec(select(CallBody)).all() == []  # bodies are stored only when asked (off by default)


def test_the_reasoning_effort_a_request_sets_is_kept(proxy_env: ProxyEnv, alice_key: str) -> None:
    efforts = [
        {"reasoning": {"effort": "high"}},
        {"reasoning_effort": "low"},
        {},
    ]
    for extra in efforts:
        response = call(proxy_env, "openai", key=alice_key, body=model_body("openai", "gpt-5") | extra)
        assert response.status_code == 200, response.text
    thinking = model_body("anthropic", SONNET) | {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    assert call(proxy_env, "anthropic", key=alice_key, body=thinking).status_code == 200

    rows = proxy_env.usage_rows(4)

    assert [row.reasoning_effort for row in rows] == ["high", "low", None, "budget:2048"]


def test_under_64_concurrent_calls_every_call_leaves_its_row(proxy_env: ProxyEnv, alice_key: str) -> None:
    """Forwarded and refused calls at once: the records count the calls, none dropped, none twice."""
    bodies = [model_body("anthropic", SONNET), model_body("anthropic", "no-such-model")]

    def one(index: int) -> int:
        key = None if index % 4 == 3 else alice_key
        return call(proxy_env, "anthropic", key=key, body=bodies[index % 2]).status_code

    with ThreadPoolExecutor(max_workers=64) as pool:
        statuses = list(pool.map(one, range(256)))

    forwarded = sum(status == 200 for status in statuses)
    assert forwarded == 128 and len(statuses) == 256
    rows = proxy_env.usage_rows(forwarded) + proxy_env.refused_rows(256 - forwarded)
    assert len({row.call_id for row in rows}) == 256


def test_client_text_with_nul_does_not_cost_the_row(proxy_env: ProxyEnv, alice_key: str) -> None:
    """PostgreSQL refuses NUL in text: a %00 in a path, a \\u0000 in a model name or an effort become U+FFFD."""
    no_route = httpx.post(f"{proxy_env.live.url}/api/llm-proxy/anthropic/v1/fi%00les", timeout=30)
    no_model = call(proxy_env, "anthropic", key=alice_key, body=model_body("anthropic", "bad\u0000model"))
    effort = model_body("anthropic", SONNET) | {"output_config": {"effort": "hi\u0000gh"}}
    forwarded = call(proxy_env, "anthropic", key=alice_key, body=effort)

    assert (no_route.status_code, no_model.status_code, forwarded.status_code) == (404, 404, 200)
    refused = proxy_env.refused_rows(2)
    assert "\x00" not in "".join(str(row.path) + row.model + str(row.refusal_reason) for row in refused)
    assert proxy_env.usage_rows(1)[0].reasoning_effort == "hi\ufffdgh"


def _ids(env: ProxyEnv, secret: str) -> tuple[int | None, int | None]:
    with Session(env.engine) as session:
        key = session.exec(select(ApiKey).where(ApiKey.digest == digest_key(secret, env.services.key_pepper))).one()
    return key.user_id, key.id


def test_a_refused_key_the_gateway_issued_names_its_user_and_key(proxy_env: ProxyEnv) -> None:
    """Revoked, expired (in the database, remembered, or still in the snapshot), a deactivated user's, a key
    without the llm scope: the row names the user and the key, and keeps no prefix and nothing of the secret."""
    revoked = proxy_env.issue_key(ALICE)
    with session_scope(proxy_env.engine) as session:
        digest = digest_key(revoked, proxy_env.services.key_pepper)
        revoke_key(session, session.exec(select(ApiKey).where(ApiKey.digest == digest)).one())
    proxy_env.services.catalog.reload()
    past = proxy_env.issue_key(ALICE, expires_at=utcnow() - timedelta(seconds=1))  # never in the snapshot
    expires_at = utcnow() + timedelta(seconds=1)
    expiring = proxy_env.issue_key(ALICE, expires_at=expires_at)  # in the snapshot, expired by the time it is used
    deactivated = proxy_env.issue_key(CAROL)
    ui_key = proxy_env.issue_key(ALICE, scopes=frozenset({Scope.ui}))
    api_key = proxy_env.issue_key(ALICE, scopes=frozenset({Scope.api}))
    unknown = "gwk_" + "U" * 43
    time.sleep(max(0.0, (expires_at - utcnow()).total_seconds()) + 0.1)
    cases = [
        (revoked, 401),
        (past, 401),
        (past, 401),  # the second time from the remembered expiries, without a database look-up
        (expiring, 401),
        (deactivated, 401),
        (ui_key, 403),
        (api_key, 403),
        (unknown, 401),
    ]

    statuses = [
        call(proxy_env, "anthropic", key=key, body=model_body("anthropic", SONNET)).status_code for key, _ in cases
    ]

    assert statuses == [status for _, status in cases]
    rows = proxy_env.refused_rows(len(cases))
    assert [(row.user_id, row.api_key_id) for row in rows[:-1]] == [_ids(proxy_env, key) for key, _ in cases[:-1]]
    assert all(row.key_prefix is None for row in rows[:-1])
    assert rows[4].user_id != rows[0].user_id  # Carol's key names Carol
    # A key the gateway never issued names nobody: only its visible prefix is kept.
    assert (rows[-1].user_id, rows[-1].api_key_id, rows[-1].key_prefix) == (None, None, unknown[:12])
    dumped = " ".join(str(row.model_dump()) for row in rows)
    assert all(key[12:] not in dumped for key, _ in cases)
