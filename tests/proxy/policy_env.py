"""A live gateway with message policies from its config file (and a judge model on the fake upstream)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from gateway_api.core.settings import Settings
from tests.proxy.conftest import ProxyEnv, gateway_config
from tests.support.fakes.upstream import FakeUpstream
from tests.support.live import start_live_gateway

JUDGE_MODEL = "claude-haiku-4-5"


def policy_env(
    settings: Settings,
    fake: FakeUpstream,
    tmp_path: Path,
    policies: list[dict[str, Any]],
    judge_model: str = JUDGE_MODEL,
) -> Iterator[ProxyEnv]:
    config = gateway_config(fake)
    config["message_policy_judge"] = judge_model
    config["message_policies"] = policies
    config_path = tmp_path / "gateway.yaml"
    config_path.write_text(yaml.safe_dump(config))
    for live in start_live_gateway(settings.model_copy(update={"config": config_path})):
        yield ProxyEnv(live=live, fake=fake)
