"""The proxy served by the whole app as `make run` starts it (Reflex + granian, the FastAPI app mounted inside)."""

from __future__ import annotations

import time

import anthropic
import httpx
import pytest

from tests.support.fakes.upstream import FakeUpstream
from tests.ui.conftest import UiServer
from tests.ui.seed import AdminApi, login_token, unique_tag

REPLY = "Hello from the fake upstream, one word at a time."


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_proxy_works_through_the_full_app(ui_server: UiServer, fake_upstream: FakeUpstream) -> None:
    admin = AdminApi(ui_server)
    tag = unique_tag()
    try:
        provider_id = admin.create_provider(f"anthropic-{tag}", "anthropic", fake_upstream.anthropic_base_url)
        model = f"claude-mount-{tag}"
        admin.create_models(provider_id, [model])
        user = admin.create_user(f"proxy-{tag}@example.com", "proxy-password-123")
        admin.grant(f"proxy mount {tag}", f"user:{user.email}", [model])
    finally:
        admin.close()
    key = login_token(ui_server.url, user.email, user.password, scope="llm")
    client = anthropic.Anthropic(api_key=key, base_url=f"{ui_server.url}/api/llm-proxy/anthropic", max_retries=0)

    deadline = time.monotonic() + 10  # every worker's catalog picks the new policy up within its poll interval
    while True:
        try:
            with client.messages.stream(model=model, max_tokens=8, messages=[{"role": "user", "content": "hi"}]) as s:
                text = "".join(s.text_stream)
            break
        except (anthropic.PermissionDeniedError, anthropic.NotFoundError):
            assert time.monotonic() < deadline, "the new model and policy never reached the proxy"
            time.sleep(0.2)

    assert text == REPLY
    received = fake_upstream.last_request()
    assert received.headers["x-api-key"] == "sk-fake-anthropic-credential"
    assert [m.id for m in client.models.list()] == [model]


def test_operations_endpoints_are_the_gateways_not_the_uis(ui_server: UiServer) -> None:
    assert httpx.get(f"{ui_server.url}/healthz", timeout=30).json() == {"status": "ok"}
    ready = httpx.get(f"{ui_server.url}/readyz", timeout=30)
    assert ready.status_code == 200 and ready.headers["content-type"].startswith("application/json")
    metrics = httpx.get(f"{ui_server.url}/metrics", timeout=30)
    assert metrics.status_code == 200 and "gateway_http_requests" in metrics.text
