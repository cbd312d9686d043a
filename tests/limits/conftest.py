"""Live gateways (real HTTP on loopback) wired to the fake upstream, with limit settings chosen per test."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlmodel import Session, col, func, select

from gateway_api.accounts.api_keys import issue_key
from gateway_api.accounts.users import find_user
from gateway_api.core.settings import Settings
from gateway_api.db.engine import session_scope
from gateway_api.db.models import Outcome, Scope, UsageRecord
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.proxy.conftest import ALICE, SONNET, ProxyEnv, gateway_config
from tests.support.fakes.upstream import FakeUpstream
from tests.support.live import LiveGateway, start_live_gateway

HAIKU = "claude-haiku-4-5"  # the one model bob may call
REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="GATEWAY_TEST_REDIS_URL is not set")


@dataclass
class Gateway:
    """One running gateway and the calls the limit tests make through it."""

    env: ProxyEnv
    admin_headers: dict[str, str]
    stop: Callable[[], None]

    @property
    def live(self) -> LiveGateway:
        return self.env.live

    def new_key(self, email: str = ALICE, scope: Scope = Scope.llm) -> tuple[int, str]:
        """(id, secret) of a fresh key, already in this gateway's catalog."""
        with session_scope(self.env.engine) as session:
            user = find_user(session, email)
            assert user is not None
            key, secret = issue_key(session, self.env.services.key_pepper, user, {scope}, expires_at=None)
            key_id = key.id
        self.env.services.catalog.reload()
        assert key_id is not None
        return key_id, secret

    def rows_written(self) -> int:
        with Session(self.env.engine) as session:
            forwarded = col(UsageRecord.outcome) != Outcome.refused  # the call log's refused rows aside
            return session.exec(select(func.count()).select_from(UsageRecord).where(forwarded)).one()

    def anthropic_call(self, secret: str, model: str = SONNET) -> httpx.Response:
        return httpx.post(
            f"{self.env.anthropic_url}/v1/messages",
            headers={"x-api-key": secret, "anthropic-version": "2023-06-01"},
            json={"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )

    def openai_call(self, secret: str) -> httpx.Response:
        return httpx.post(
            f"{self.env.openai_url}/responses",
            headers={"authorization": f"Bearer {secret}"},
            json={"model": "gpt-5", "input": "hi"},
            timeout=30,
        )

    def api(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.live.url}/api{path}", headers=headers or self.admin_headers, **kwargs, timeout=30
        )


GatewayFactory = Callable[..., Gateway]


@pytest.fixture
def start_gateway(settings: Settings, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[GatewayFactory]:
    """Start gateways on the test's one database: `start_gateway(default_requests_per_minute=2, ...)`."""
    config_path = tmp_path / "gateway.yaml"
    config_path.write_text(yaml.safe_dump(gateway_config(fake_upstream)))
    with contextlib.ExitStack() as running:

        def start(**overrides: Any) -> Gateway:
            runner = start_live_gateway(settings.model_copy(update={"config": config_path, **overrides}))
            live = next(runner)
            running.callback(runner.close)
            token = live.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            return Gateway(ProxyEnv(live=live, fake=fake_upstream), {"Authorization": f"Bearer {token}"}, runner.close)

        yield start


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test's own, so tests sharing the Redis never see each other's counters."""
    return f"gateway-test:{uuid.uuid4().hex[:12]}:"
