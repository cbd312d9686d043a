"""A provider credential is bound to the host it was saved for (issue 15): moving the base URL to another host
removes it, the connection test and the proxy never send it elsewhere. Two fake upstreams on loopback, a live
gateway over real HTTP; the second upstream must never see the first one's key."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import Session

from gateway_api.db.config_version import bump_config_version
from gateway_api.db.models import Provider
from tests.api.helpers import audit_events
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.fakes.upstream import FakeUpstream
from tests.support.live import LiveGateway

CREDENTIAL = "sk-ant-bound-to-the-first-host-7777"
NEW_CREDENTIAL = "sk-ant-entered-again-for-host-two-8888"
TIMEOUT = 30


@pytest.fixture
def second_upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        yield server


@pytest.fixture
def api(live_gateway: LiveGateway) -> Iterator[httpx.Client]:
    """An admin's browser session on the live gateway."""
    token = live_gateway.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    with httpx.Client(base_url=live_gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        yield client


def keys_seen(upstream: FakeUpstream) -> list[str]:
    return [request.headers.get("x-api-key", "") for request in upstream.requests]


def test_moving_a_provider_to_another_host_drops_its_key(
    api: httpx.Client, fake_upstream: FakeUpstream, second_upstream: FakeUpstream
) -> None:
    body = {
        "name": "anthropic",
        "kind": "anthropic",
        "base_url": fake_upstream.anthropic_base_url,
        "credential": CREDENTIAL,
    }
    provider = api.post("/api/providers", json=body).json()
    tested = api.post(f"/api/providers/{provider['id']}/test").json()
    assert tested["ok"] is True and keys_seen(fake_upstream) == [CREDENTIAL]

    # Same origin, another path: the key stays.
    same_host = api.patch(f"/api/providers/{provider['id']}", json={"base_url": fake_upstream.url + "/anthropic/"})
    assert same_host.json()["configured"] is True and same_host.json()["credential_cleared"] is False

    moved = api.patch(f"/api/providers/{provider['id']}", json={"base_url": second_upstream.anthropic_base_url})
    assert moved.status_code == 200
    assert moved.json()["configured"] is False and moved.json()["credential_cleared"] is True
    tested = api.post(f"/api/providers/{provider['id']}/test").json()
    assert tested["ok"] is False and "no credential" in tested["message"]
    assert api.post(f"/api/providers/{provider['id']}/import-models").status_code == 409
    assert keys_seen(second_upstream) == [], "the second host never heard from the gateway"

    [cleared] = audit_events(api, {}, action="provider.credential_cleared")  # type: ignore[arg-type]
    assert cleared["after"] == {"from": fake_upstream.url, "to": second_upstream.url}  # scheme://host:port
    # A move that brings its own key keeps that one, saved for the new host.
    back = api.patch(
        f"/api/providers/{provider['id']}",
        json={"base_url": fake_upstream.anthropic_base_url, "credential": NEW_CREDENTIAL},
    ).json()
    assert back["configured"] is True and back["credential_cleared"] is False
    again = api.patch(
        f"/api/providers/{provider['id']}",
        json={"base_url": second_upstream.anthropic_base_url, "credential": NEW_CREDENTIAL},
    ).json()
    assert again["configured"] is True and again["credential_last4"] == "8888"
    assert api.post(f"/api/providers/{provider['id']}/test").json()["ok"] is True
    assert keys_seen(second_upstream) == [NEW_CREDENTIAL]
    assert CREDENTIAL not in str([dict(r.headers) for r in second_upstream.requests])


def test_a_key_saved_for_another_host_is_never_sent(
    live_gateway: LiveGateway, api: httpx.Client, fake_upstream: FakeUpstream, second_upstream: FakeUpstream
) -> None:
    """Even when the base URL changes behind the API's back (a database edit), the key does not follow it."""
    body = {
        "name": "anthropic",
        "kind": "anthropic",
        "base_url": fake_upstream.anthropic_base_url,
        "credential": CREDENTIAL,
    }
    provider_id = api.post("/api/providers", json=body).json()["id"]
    model = api.post("/api/models", json={"name": "claude-bound", "provider_id": provider_id}).json()
    api.post("/api/policies", json={"name": "all", "subjects": ["*"], "models": [model["name"]]})
    with Session(live_gateway.services.engine) as session:
        provider = session.get(Provider, provider_id)
        assert provider is not None
        provider.base_url = second_upstream.anthropic_base_url
        session.add(provider)
        bump_config_version(session)
        session.commit()
    live_gateway.services.catalog.reload()

    tested = api.post(f"/api/providers/{provider_id}/test").json()
    assert tested["ok"] is False and "another host" in tested["message"]
    llm_key = api.post("/api/keys", json={"scope": "llm"}).json()["secret"]
    proxied = httpx.post(
        f"{live_gateway.url}/api/llm-proxy/anthropic/v1/messages",
        json={"model": "claude-bound", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-api-key": llm_key, "anthropic-version": "2023-06-01"},
        timeout=TIMEOUT,
    )
    assert proxied.status_code >= 400
    assert CREDENTIAL not in str([dict(r.headers) for r in second_upstream.requests])
    assert keys_seen(second_upstream) in ([], [""] * len(second_upstream.requests))
