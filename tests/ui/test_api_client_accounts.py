"""The UI API client's keys, users and groups calls against the real gateway on a loopback port."""

from __future__ import annotations

import pytest

from gateway_ui import api_client
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.live import LiveGateway


@pytest.fixture
def admin_token(live_gateway: LiveGateway, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(api_client.API_URL_ENV, live_gateway.url)
    return live_gateway.login(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.mark.asyncio
async def test_validation_errors_come_back_by_field(admin_token: str) -> None:
    with pytest.raises(api_client.ApiError) as failure:
        await api_client.create_user(admin_token, {"email": "not-an-email", "password": "short"})

    assert failure.value.status_code == 422
    assert set(failure.value.field_errors) == {"email", "password"}
    assert failure.value.field_errors["email"].startswith("email: ")
    assert failure.value.message == failure.value.field_errors["email"]


@pytest.mark.asyncio
async def test_users_groups_and_keys_round_trip(admin_token: str) -> None:
    group = await api_client.create_group(admin_token, "client-team")
    user = await api_client.create_user(
        admin_token, {"email": "client@example.com", "password": "client-password-1", "groups": ["client-team"]}
    )
    updated = await api_client.update_user(admin_token, user["id"], {"role": "admin"})
    assert (updated["role"], updated["groups"]) == ("admin", ["client-team"])
    assert [u["email"] for u in await api_client.list_users(admin_token)].count("client@example.com") == 1
    assert (await api_client.deactivate_user(admin_token, user["id"]))["active"] is False

    created = await api_client.create_key(admin_token, "never ends", None)
    week = await api_client.create_key(admin_token, "a week", 7)
    assert created["expires_at"] is None and week["expires_at"] is not None
    listed = await api_client.list_keys(admin_token)
    assert "secret" not in listed[0]
    assert {week["id"], created["id"]} <= {k["id"] for k in listed}
    await api_client.revoke_key(admin_token, week["id"])
    assert week["id"] not in {k["id"] for k in await api_client.list_keys(admin_token)}
    inactive = await api_client.list_keys(admin_token, include_inactive=True)
    assert {k["id"]: k["status"] for k in inactive}[week["id"]] == "revoked"

    await api_client.delete_group(admin_token, group["id"])
    assert await api_client.list_groups(admin_token) == []
