"""The call log's bodies (GATEWAY_LLM_LOG_BODIES): encrypted at rest, capped and marked truncated, headers
redacted, streamed replies kept as events and reassembled, binary stored safely; read back through the REST API."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest
from sqlmodel import Session, select

from gateway_api.core.settings import Settings
from gateway_api.db.models import CallBody
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.proxy.conftest import SONNET, ProxyEnv
from tests.proxy.test_refusals_and_routing import call

CAP = 4096
AUDITOR_PASSWORD = "auditor-password-1234"
PROMPT = "the secret plans of the reactor, in clear"
REPLY = "a reply that must not be readable in the database"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"llm_log_bodies": True, "llm_log_max_body_bytes": CAP})


def _stored(env: ProxyEnv, count: int) -> list[dict[str, Any]]:
    """The bodies of the last `count` forwarded calls, as an auditor (the only role that may) reads them on
    GET /api/llm-calls/{id}."""
    rows = env.usage_rows(count)
    token = _auditor_token(env)
    details = []
    for row in rows:
        deadline = time.monotonic() + 10
        while True:  # the body writer stores them within a flush interval of the usage row
            detail = httpx.get(
                f"{env.live.url}/api/llm-calls/{row.id}", headers={"authorization": f"Bearer {token}"}, timeout=30
            ).json()
            if detail["bodies"] is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        details.append(detail)
    return details


def _auditor_token(env: ProxyEnv) -> str:
    admin = {"authorization": f"Bearer {env.live.login(ADMIN_EMAIL, ADMIN_PASSWORD)}"}
    email = "body-auditor@example.com"
    created = httpx.post(
        f"{env.live.url}/api/users",
        json={"email": email, "password": AUDITOR_PASSWORD, "role": "auditor"},
        headers=admin,
        timeout=30,
    )
    assert created.status_code in (200, 201, 409), created.text
    return env.live.login(email, AUDITOR_PASSWORD)


def _message(text: str, stream: bool = False) -> dict[str, Any]:
    return {"model": SONNET, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": text}]}


def test_bodies_are_encrypted_at_rest_and_headers_redacted(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(reply_text=REPLY)
    headers = {"cookie": "session=abc", "x-custom-token": "tok-123", "x-trace": "visible"}
    assert call(proxy_env, "anthropic", key=alice_key, body=_message(PROMPT), headers=headers).status_code == 200

    (detail,) = _stored(proxy_env, 1)

    request = detail["bodies"]["request"]
    assert PROMPT in request["body"]["text"] and request["body"]["truncated"] is False
    sent = dict(request["headers"])
    assert sent["x-api-key"] == sent["cookie"] == sent["x-custom-token"] == "[redacted]"
    assert sent["x-trace"] == "visible"
    assert alice_key not in str(detail)
    response = detail["bodies"]["response"]
    assert response["status"] == 200 and REPLY in response["body"]["text"]
    with Session(proxy_env.engine) as session:
        (raw,) = session.exec(select(CallBody)).all()
    for clear in (PROMPT, REPLY, "tok-123", "session=abc"):
        assert clear.encode() not in raw.sealed


def test_a_streamed_reply_is_kept_as_events_and_reassembled(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(reply_text="one two three")
    assert call(proxy_env, "anthropic", key=alice_key, body=_message("hi", stream=True)).status_code == 200

    (detail,) = _stored(proxy_env, 1)

    body = detail["bodies"]["response"]["body"]
    assert "event: content_block_delta" in body["text"]
    assert body["events_reassembled"]["text"] == "one two three"


def test_a_32_mib_request_keeps_the_capped_part_marked_truncated(proxy_env: ProxyEnv, alice_key: str) -> None:
    big = _message("é" * (16 * 1024 * 1024 - 100))  # two bytes each: a cut may split one
    content = httpx.Request("POST", "/", json=big).content
    assert len(content) > 32 * 1024 * 1024 - 1024
    assert call(proxy_env, "anthropic", key=alice_key, body=content).status_code == 200

    (detail,) = _stored(proxy_env, 1)

    stored = detail["bodies"]["request"]["body"]
    assert stored["truncated"] is True and stored["bytes"] == len(content) and stored["kept_bytes"] == CAP
    assert content.decode()[:100] == stored["text"][:100] and len(stored["text"].encode()) <= CAP


def test_a_binary_reply_is_stored_as_base64(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(error_status=500, error_body=b"\xff\xfe\x00 not utf-8 \xc3")
    assert call(proxy_env, "anthropic", key=alice_key, body=_message("hi")).status_code == 500

    (detail,) = _stored(proxy_env, 1)

    body = detail["bodies"]["response"]["body"]
    assert "text" not in body and body["base64"] == "//4AIG5vdCB1dGYtOCDD"


def test_admins_never_read_bodies_and_an_auditors_read_is_audited(proxy_env: ProxyEnv, alice_key: str) -> None:
    assert call(proxy_env, "anthropic", key=alice_key, body=_message(PROMPT)).status_code == 200
    (detail,) = _stored(proxy_env, 1)  # read by an auditor
    assert detail["bodies"] is not None
    admin = {"authorization": f"Bearer {proxy_env.live.login(ADMIN_EMAIL, ADMIN_PASSWORD)}"}
    as_admin = httpx.get(f"{proxy_env.live.url}/api/llm-calls/{detail['id']}", headers=admin, timeout=30).json()
    assert as_admin["bodies"] is None and as_admin["bodies_readable"] is False
    trail = httpx.get(
        f"{proxy_env.live.url}/api/audit", params={"action": "llm_call.read_body"}, headers=admin, timeout=30
    ).json()["data"]
    assert [(event["actor_email"], event["target_id"]) for event in trail] == [
        ("body-auditor@example.com", str(detail["id"]))
    ]


def test_an_auditors_export_carries_bodies_and_is_audited(proxy_env: ProxyEnv, alice_key: str) -> None:
    for text in (PROMPT, "a second prompt"):
        assert call(proxy_env, "anthropic", key=alice_key, body=_message(text, stream=True)).status_code == 200
    _stored(proxy_env, 2)  # both written (and read once each by the auditor)
    auditor = {"authorization": f"Bearer {_auditor_token(proxy_env)}"}
    admin = {"authorization": f"Bearer {proxy_env.live.login(ADMIN_EMAIL, ADMIN_PASSWORD)}"}
    url = f"{proxy_env.live.url}/api/llm-calls/export"

    exported = httpx.get(url, params={"bodies": "true", "model": SONNET}, headers=auditor, timeout=30)

    assert exported.status_code == 200, exported.text
    lines = [orjson.loads(line) for line in exported.text.splitlines()]
    assert [line["bodies"]["request"]["body"]["text"] for line in lines] == [
        orjson.dumps(_message(text, stream=True)).decode() for text in ("a second prompt", PROMPT)
    ]
    assert all(line["bodies"]["response"]["body"]["events_reassembled"] is not None for line in lines)
    plain = httpx.get(url, headers=auditor, timeout=30).text.splitlines()
    assert len(plain) == 2 and all("bodies" not in orjson.loads(line) for line in plain)
    refused = httpx.get(url, params={"bodies": "true"}, headers=admin, timeout=30)
    assert refused.status_code == 403
    trail = httpx.get(
        f"{proxy_env.live.url}/api/audit", params={"action": "llm_call.export_bodies"}, headers=admin, timeout=30
    ).json()["data"]
    assert len(trail) == 1 and trail[0]["actor_email"] == "body-auditor@example.com"
    assert trail[0]["after"] == {"model": SONNET}


def test_one_call_is_found_by_its_gateway_call_id(proxy_env: ProxyEnv, alice_key: str) -> None:
    responses = [call(proxy_env, "anthropic", key=alice_key, body=_message(f"call {n}")) for n in range(3)]
    call_id = responses[1].headers["x-gateway-request-id"]
    admin = {"authorization": f"Bearer {proxy_env.live.login(ADMIN_EMAIL, ADMIN_PASSWORD)}"}
    proxy_env.usage_rows(3)

    found = httpx.get(f"{proxy_env.live.url}/api/llm-calls", params={"call": call_id}, headers=admin, timeout=30)

    assert [row["call_id"] for row in found.json()["data"]] == [call_id]
