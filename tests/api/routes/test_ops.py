"""/healthz, /readyz, /metrics, request ids and refusals of hostile requests at the HTTP level."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from gateway_api.api.database_errors import DATABASE_UNAVAILABLE
from gateway_api.app import create_asgi_app
from gateway_api.core.settings import Settings
from gateway_api.server.request_context import MAX_HEADER_BYTES, REQUEST_ID_HEADER
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, POSTGRES_URL
from tests.support.live import LiveGateway, free_port, start_live_gateway
from tests.support.tcp_relay import TcpRelay

ID_HEADER = REQUEST_ID_HEADER.decode()


def test_health_and_readiness(api_client: TestClient) -> None:
    assert api_client.get("/healthz").json() == {"status": "ok"}
    ready = api_client.get("/readyz")
    body = ready.json()
    assert (ready.status_code, body["status"], body["proxy"], body["database"]) == (200, "ok", "ok", "ok")
    assert body["catalog"]["status"] == "ok" and body["catalog"]["version"] >= 0
    assert body["redis"] == "not configured"
    assert body["usage"] == {"status": "ok", "queued": 0, "failing_seconds": 0.0, "dead_letters": 0}
    assert body["spool"]["status"] == "ok" and body["spool"]["rows_not_in_database"] == 0


def test_readiness_refreshes_a_snapshot_not_checked_for_a_while(api_client: TestClient) -> None:
    catalog = api_client.app.services.catalog  # type: ignore[attr-defined]
    catalog.checked_at -= 3600  # as after a long outage, or a watcher that stopped

    ready = api_client.get("/readyz")

    assert ready.status_code == 200 and ready.json()["catalog"]["status"] == "ok"
    assert ready.json()["catalog"]["checked_seconds_ago"] < 5


def test_readiness_reports_redis(settings: Settings) -> None:
    from tests.support.served import REDIS_URL

    if not REDIS_URL:
        pytest.skip("GATEWAY_TEST_REDIS_URL is not set")
    with TestClient(create_asgi_app(settings.model_copy(update={"redis_url": REDIS_URL}))) as client:
        assert client.get("/readyz").json()["redis"] == "ok"
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    with TestClient(create_asgi_app(settings.model_copy(update={"redis_url": unreachable}))) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 200  # Redis down alone: limits fall back to local counting, the proxy serves
    assert ready.json()["redis"].startswith("unavailable")


@pytest.mark.skipif(not POSTGRES_URL, reason="GATEWAY_TEST_DATABASE_URL is not set")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_database_outage_keeps_the_replica_ready_and_rest_calls_answer_503(
    settings: Settings, database_url: str
) -> None:
    url = make_url(database_url)
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
    relay.start()
    relayed_url = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    try:
        for live in start_live_gateway(settings.model_copy(update={"database_url": relayed_url})):
            token = live.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            admin = {"Authorization": f"Bearer {token}"}
            assert httpx.get(f"{live.url}/readyz", timeout=30).json()["database"] == "ok"
            relay.stop()

            down = httpx.get(f"{live.url}/readyz", timeout=30)
            assert (down.status_code, down.json()["status"]) == (200, "ok")  # the proxy still serves its snapshot
            assert down.json()["database"].startswith("unavailable (")
            assert httpx.get(f"{live.url}/healthz", timeout=30).status_code == 200
            for method, path in (("GET", "/api/me"), ("GET", "/api/users"), ("GET", "/api/usage/records")):
                answer = httpx.request(method, f"{live.url}{path}", headers=admin, timeout=30)
                assert (answer.status_code, answer.json()) == (503, {"detail": DATABASE_UNAVAILABLE}), path
                assert answer.headers["retry-after"] == "5"
            login = httpx.post(
                f"{live.url}/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=30
            )
            assert (login.status_code, login.json()) == (503, {"detail": DATABASE_UNAVAILABLE})

            relay.start()
            assert httpx.get(f"{live.url}/readyz", timeout=30).json()["database"] == "ok"
            assert httpx.get(f"{live.url}/api/me", headers=admin, timeout=30).status_code == 200
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
