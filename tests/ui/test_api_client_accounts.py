"""The UI API client's keys, users and groups calls against the real gateway on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from gateway_ui.api import ApiError, GatewayApi, UserApi
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.live import LiveGateway


@pytest_asyncio.fixture
async def admin(live_gateway: LiveGateway) -> AsyncIterator[UserApi]:
    api = GatewayApi(live_gateway.url)
    yield api.as_user(live_gateway.login(ADMIN_EMAIL, ADMIN_PASSWORD))
    await api.aclose()


@pytest.mark.asyncio
async def test_validation_errors_come_back_by_field(admin: UserApi) -> None:
    with pytest.raises(ApiError) as failure:
        await admin.users.create(email="not-an-email", password="short")

    assert failure.value.status_code == 422
    # In words a form shows beside each field: no field name in front, no pydantic pattern.
    assert failure.value.field_errors == {
        "email": "Enter an email address like name@example.com.",
        "password": "Use at least 8 characters.",
    }
    assert failure.value.message.startswith("email: "), "the whole-form message still names the field"


@pytest.mark.asyncio
async def test_users_groups_and_keys_round_trip(admin: UserApi) -> None:
    group = await admin.groups.create("client-team")
    user = await admin.users.create(email="client@example.com", password="client-password-1", groups=["client-team"])
    updated = await admin.users.update(user.id, role="admin")
    assert (updated.role, updated.groups) == ("admin", ["client-team"])
    assert [u.email for u in await admin.users.list()].count("client@example.com") == 1
    assert (await admin.users.deactivate(user.id)).active is False

    created = await admin.keys.create("never ends", None)
    week = await admin.keys.create("a week", 7)
    assert created.expires_at is None and week.expires_at is not None
    listed = await admin.keys.list()
    assert "secret" not in (await admin.call("GET", "/api/keys"))["data"][0]
    assert {week.id, created.id} <= {k.id for k in listed}
    await admin.keys.revoke(week.id)
    assert week.id not in {k.id for k in await admin.keys.list()}
    inactive = await admin.keys.list(include_inactive=True)
    assert {k.id: k.status for k in inactive}[week.id] == "revoked"

    await admin.groups.delete(group.id)
    assert await admin.groups.list() == []
