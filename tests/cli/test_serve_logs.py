"""The log of a real `gateway serve` (DEBUG, stderr) through a whole scenario: structured, request ids matching
the responses, brute force logged, and not one of the secrets the scenario created or used."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.proxy.conftest import ALICE, ANTHROPIC_CREDENTIAL, OPENAI_CREDENTIAL, SONNET
from tests.support.fakes.upstream import FakeUpstream
from tests.support.served import ServedGateway, gateway_environment, serve_gateway

SECRET_KEY = "test-secret-key-0123456789abcdef"  # what gateway_environment sets
NEW_USER_PASSWORD = "carpenter-Password-4242"
NEW_PROVIDER_CREDENTIAL = "sk-ant-brand-new-credential-9876"
WRONG_PASSWORDS = [f"wrong-password-{n}-xyz" for n in range(8)]
GUESSED_KEYS = [f"gwk_guessedKey{n:02d}AbCdEfGhIjKlMnOpQrStUvWxYz012345" for n in range(8)]


def proxied(served: ServedGateway, key: str, model: str = SONNET) -> httpx.Response:
    return httpx.post(
        f"{served.anthropic_url}/v1/messages",
        headers={"x-api-key": key},
        json={"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_whole_scenario_logs_no_secret(database_url: str, fake_upstream: FakeUpstream, tmp_path: Path) -> None:
    env = gateway_environment(tmp_path / "data", database_url, fake_upstream, log_level="DEBUG")
    served = serve_gateway(env, tmp_path / "gateway.log")
    secrets = [SECRET_KEY, ADMIN_PASSWORD, ANTHROPIC_CREDENTIAL, OPENAI_CREDENTIAL, NEW_USER_PASSWORD]
    secrets += [NEW_PROVIDER_CREDENTIAL, *WRONG_PASSWORDS, *GUESSED_KEYS]
    try:
        admin_token = served.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        admin = {"Authorization": f"Bearer {admin_token}"}
        api = f"{served.url}/api"
        created = httpx.post(
            f"{api}/users",
            headers=admin,
            json={"email": "carpenter@example.com", "password": NEW_USER_PASSWORD},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        user_token = served.login("carpenter@example.com", NEW_USER_PASSWORD)
        provider = httpx.post(
            f"{api}/providers",
            headers=admin,
            json={"name": "second", "kind": "anthropic", "credential": NEW_PROVIDER_CREDENTIAL},
            timeout=30,
        )
        assert provider.status_code == 201, provider.text
        users = httpx.get(f"{api}/users", headers=admin, timeout=30).json()["data"]
        alice_id = next(u["id"] for u in users if u["email"] == ALICE)
        key_response = httpx.post(f"{api}/keys", headers=admin, json={"user_id": alice_id}, timeout=30).json()
        alice_key = key_response["secret"]
        secrets += [admin_token, user_token, alice_key]

        assert proxied(served, alice_key).status_code == 200
        fake_upstream.configure(error_status=500)
        assert proxied(served, alice_key).status_code == 500
        fake_upstream.configure(error_status=None)
        assert proxied(served, alice_key, model="no-such-model").status_code == 404
        assert httpx.delete(f"{api}/keys/{key_response['id']}", headers=admin, timeout=30).status_code == 200
        assert proxied(served, alice_key).status_code == 401

        # Brute force: refused with 429 once the window fills, and logged.
        sign_ins = [
            httpx.post(f"{api}/auth/login", json={"email": ADMIN_EMAIL, "password": p}, timeout=30)
            for p in WRONG_PASSWORDS
        ]
        guesses = [proxied(served, key) for key in GUESSED_KEYS]
        assert sign_ins[-1].status_code == 429 and guesses[-1].status_code == 429
        throttled_sign_in_id = sign_ins[-1].headers["x-gateway-request-id"]
        throttled_guess_id = guesses[-1].headers["x-gateway-request-id"]
    finally:
        exit_code = served.terminate()

    assert exit_code == 0
    log = served.log_text()
    leaked = [secret for secret in secrets if secret in log]
    assert leaked == [], "secrets found in the gateway's log"
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]  # uvicorn's own are plain
    by_message = {(e.get("message"), e.get("request_id")) for e in entries}
    assert ("sign-in throttled after repeated failures", throttled_sign_in_id) in by_message
    assert ("proxy key guessing throttled", throttled_guess_id) in by_message
