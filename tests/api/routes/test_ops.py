"""/healthz, /readyz, /metrics, request ids and refusals of hostile requests at the HTTP level."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from gateway_api.app import create_asgi_app
from gateway_api.core.settings import Settings
from gateway_api.server.request_context import MAX_HEADER_BYTES, REQUEST_ID_HEADER
from tests.conftest import POSTGRES_URL
from tests.support.live import LiveGateway, start_live_gateway
from tests.support.tcp_relay import TcpRelay

ID_HEADER = REQUEST_ID_HEADER.decode()


def test_health_and_readiness(api_client: TestClient) -> None:
    assert api_client.get("/healthz").json() == {"status": "ok"}
    ready = api_client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "database": "ok"})


@pytest.mark.skipif(not POSTGRES_URL, reason="GATEWAY_TEST_DATABASE_URL is not set")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_readiness_follows_the_database_and_liveness_does_not(settings: Settings, database_url: str) -> None:
    url = make_url(database_url)
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
    relay.start()
    relayed_url = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    try:
        for live in start_live_gateway(settings.model_copy(update={"database_url": relayed_url})):
            assert httpx.get(f"{live.url}/readyz", timeout=30).status_code == 200
            relay.stop()
            down = httpx.get(f"{live.url}/readyz", timeout=30)
            assert (down.status_code, down.json()["status"]) == (503, "unavailable")
            assert httpx.get(f"{live.url}/healthz", timeout=30).status_code == 200
            relay.start()
            assert httpx.get(f"{live.url}/readyz", timeout=30).status_code == 200
    finally:
        relay.close()


def test_every_response_carries_its_own_request_id(api_client: TestClient) -> None:
    responses = [api_client.get("/healthz"), api_client.get("/api/me"), api_client.get("/no/such/path")]

    ids = [r.headers[ID_HEADER] for r in responses]
    assert len(set(ids)) == 3 and all(len(i) == 24 for i in ids)


def test_metrics_count_requests_per_app(settings: Settings) -> None:
    """Each app builds its own registry: two apps in one process neither clash nor share counts."""
    with TestClient(create_asgi_app(settings)) as first, TestClient(create_asgi_app(settings)) as second:
        for _ in range(3):
            first.get("/healthz")
        first.get("/api/me")
        second.get("/healthz")
        first_text = first.get("/metrics").text
        second_text = second.get("/metrics").text

    assert 'gateway_http_requests_total{status="200",surface="api"} 3.0' in first_text
    assert 'gateway_http_requests_total{status="401",surface="api"} 1.0' in first_text
    assert 'gateway_http_requests_total{status="200",surface="api"} 1.0' in second_text
    assert 'gateway_state{what="usage_records_queued"} 0.0' in first_text
    assert "# TYPE gateway_quota_refusals_total counter" in first_text  # ready for the limits to count


def test_huge_headers_are_refused_with_431_in_each_surfaces_envelope(live_gateway: LiveGateway) -> None:
    big = {"x-padding": "a" * (MAX_HEADER_BYTES + 1)}

    api = httpx.get(f"{live_gateway.url}/api/me", headers=big, timeout=30)
    proxy = httpx.post(f"{live_gateway.url}/api/llm-proxy/anthropic/v1/messages", headers=big, json={}, timeout=30)
    openai = httpx.post(f"{live_gateway.url}/api/llm-proxy/openai/v1/responses", headers=big, json={}, timeout=30)

    assert (api.status_code, api.json()["detail"]) == (431, f"request headers are larger than {MAX_HEADER_BYTES} bytes")
    assert proxy.status_code == 431 and proxy.json()["type"] == "error"
    assert openai.status_code == 431 and openai.json()["error"]["type"] == "invalid_request_error"
    assert ID_HEADER in api.headers
