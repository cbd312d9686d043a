"""A live gateway (real HTTP on loopback) wired to the fake upstream, with providers, models, users and policies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway_api.accounts.api_keys import issue_key
from gateway_api.accounts.users import find_user
from gateway_api.core.settings import Settings
from gateway_api.db.engine import session_scope
from gateway_api.db.models import Outcome, Scope, UsageRecord
from gateway_api.services import AppServices
from tests.support.fakes.upstream import FakeUpstream
from tests.support.live import LiveGateway, start_live_gateway

ANTHROPIC_CREDENTIAL = "sk-ant-upstream-credential-0001"
OPENAI_CREDENTIAL = "sk-openai-upstream-credential-0002"
ALICE = "alice@example.com"  # group engineers: claude-*, gpt-*, team/*, openai/*
BOB = "bob@example.com"  # only claude-haiku-4-5, through a user policy
CAROL = "carol@example.com"  # deactivated
SONNET = "claude-sonnet-4-5-20250929"
SLASHED_ANTHROPIC_MODEL = "team/claude-custom"
SLASHED_OPENAI_MODEL = "openai/gpt-oss-120b"
# Prices (USD per million tokens) set in the config so tests can state exact costs.
SONNET_PRICE = {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75}
GPT5_PRICE = {"input": 1.25, "output": 10.0, "cache_read": 0.125, "cache_write": 1.25}


def gateway_config(fake: FakeUpstream) -> dict:
    return {
        "providers": [
            {
                "name": "anthropic",
                "kind": "anthropic",
                "base_url": fake.anthropic_base_url,  # without /v1
                "api_key": ANTHROPIC_CREDENTIAL,
                "models": [
                    {"name": SONNET, "display_name": "Claude Sonnet 4.5", "price": SONNET_PRICE},
                    {"name": "claude-opus-4-1-20250805"},
                    {"name": "claude-haiku-4-5"},
                    {"name": "claude-force-error-429"},
                    {"name": SLASHED_ANTHROPIC_MODEL},
                    {"name": "claude-retired", "active": False},
                ],
            },
            {
                "name": "openai",
                "kind": "openai",
                "base_url": fake.openai_base_url + "/v1/",  # with a trailing /v1 (and slash)
                "api_key": OPENAI_CREDENTIAL,
                "models": [
                    {"name": "gpt-5", "price": GPT5_PRICE},
                    {"name": "gpt-5-mini"},
                    {"name": "gpt-4.1"},
                    {"name": "o4-mini"},
                    {"name": "gpt-force-error-401"},
                    {"name": SLASHED_OPENAI_MODEL},
                ],
            },
            {
                "name": "anthropic-unconfigured",
                "kind": "anthropic",
                "base_url": fake.anthropic_base_url,
                "models": [{"name": "claude-unconfigured-1"}],
            },
        ],
        "groups": ["engineers"],
        "users": [
            {"email": ALICE, "groups": ["engineers"]},
            {"email": BOB},
            {"email": CAROL, "active": False},
        ],
        "policies": [
            {
                "name": "engineers",
                "subjects": ["group:engineers"],
                "models": ["claude-*", "gpt-*", "team/*", "openai/*"],
            },
            {"name": "bob haiku", "subjects": [f"user:{BOB}"], "models": ["claude-haiku-4-5"]},
            {"name": "carol", "subjects": [f"user:{CAROL}"], "models": ["*"]},
        ],
    }


@dataclass
class ProxyEnv:
    live: LiveGateway
    fake: FakeUpstream

    @property
    def services(self) -> AppServices:
        return self.live.services

    @property
    def engine(self) -> Engine:
        return self.services.engine

    @property
    def anthropic_url(self) -> str:
        return f"{self.live.url}/api/llm-proxy/anthropic"

    @property
    def openai_url(self) -> str:
        return f"{self.live.url}/api/llm-proxy/openai/v1"

    def issue_key(
        self, email: str = ALICE, scopes: frozenset[Scope] = frozenset({Scope.llm}), expires_at: datetime | None = None
    ) -> str:
        """A fresh gateway key, already visible to the proxy's catalog."""
        with session_scope(self.engine) as session:
            user = find_user(session, email)
            assert user is not None
            _, secret = issue_key(session, self.services.key_pepper, user, set(scopes), expires_at=expires_at)
        self.services.catalog.reload()
        return secret

    def usage_rows(self, count: int, timeout: float = 10.0) -> list[UsageRecord]:
        """Wait until exactly `count` usage rows of forwarded calls are written (and no more arrive shortly after)."""
        return self._wait_for_rows(count, timeout, refused=False)

    def refused_rows(self, count: int, timeout: float = 10.0) -> list[UsageRecord]:
        """The same for the call-log rows of calls the gateway refused."""
        return self._wait_for_rows(count, timeout, refused=True)

    def _wait_for_rows(self, count: int, timeout: float, *, refused: bool) -> list[UsageRecord]:
        deadline = time.monotonic() + timeout
        while True:
            rows = self._rows(refused)
            if len(rows) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        time.sleep(0.2)  # one more flush interval: a duplicate row would show up now
        rows = self._rows(refused)
        assert len(rows) == count, f"expected {count} usage rows, found {len(rows)}: {rows}"
        return rows

    def _rows(self, refused: bool) -> list[UsageRecord]:
        wanted = col(UsageRecord.outcome) == Outcome.refused
        with Session(self.engine) as session:
            return list(
                session.exec(select(UsageRecord).where(wanted if refused else ~wanted).order_by(UsageRecord.id))
            )  # type: ignore[arg-type]


@pytest.fixture
def proxy_env(settings: Settings, fake_upstream: FakeUpstream, tmp_path: Path) -> Iterator[ProxyEnv]:
    config_path = tmp_path / "gateway.yaml"
    config_path.write_text(yaml.safe_dump(gateway_config(fake_upstream)))
    for live in start_live_gateway(settings.model_copy(update={"config": config_path})):
        yield ProxyEnv(live=live, fake=fake_upstream)


@pytest.fixture
def alice_key(proxy_env: ProxyEnv) -> str:
    return proxy_env.issue_key(ALICE)
