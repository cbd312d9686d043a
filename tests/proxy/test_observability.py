"""Proxy calls in the metrics (tokens, spend, timings, upstream errors, cache hits) and their request ids."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway_api.core.log_config import JsonFormatter
from tests.proxy.conftest import SONNET, ProxyEnv
from tests.support.fakes.provider_bodies import FakeUsage

USAGE = FakeUsage(input_tokens=100, output_tokens=40)
SONNET_COST = (100 * 3.0 + 40 * 15.0) / 1e6  # conftest prices: 3 / 15 USD per million


def messages(env: ProxyEnv, key: str, *, stream: bool = False) -> httpx.Response:
    body = {"model": SONNET, "max_tokens": 8, "stream": stream, "messages": []}
    return httpx.post(f"{env.anthropic_url}/v1/messages", headers={"x-api-key": key}, json=body, timeout=30)


def metric(text: str, name: str, **labels: str) -> float:
    """The one sample called `name` with exactly these labels."""
    [value] = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and sample.labels == labels
    ]
    return value


def test_proxied_calls_feed_the_metrics(proxy_env: ProxyEnv, alice_key: str) -> None:
    proxy_env.fake.configure(usage=USAGE)
    for stream in (True, False, True):
        assert messages(proxy_env, alice_key, stream=stream).status_code == 200
    proxy_env.fake.configure(error_status=503)
    assert messages(proxy_env, alice_key).status_code == 503
    assert messages(proxy_env, "gwk_" + "x" * 43).status_code == 401
    proxy_env.usage_rows(4)

    text = httpx.get(f"{proxy_env.live.url}/metrics", timeout=30).text

    model = {"provider": "anthropic", "model": SONNET}
    assert metric(text, "gateway_tokens_total", kind="input", **model) == 300
    assert metric(text, "gateway_tokens_total", kind="output", **model) == 120
    assert metric(text, "gateway_spend_usd_total", **model) == pytest.approx(3 * SONNET_COST)
    assert metric(text, "gateway_proxied_calls_total", outcome="ok", **model) == 3
    assert metric(text, "gateway_upstream_ttfb_seconds_count", **model) == 4
    assert (
        metric(text, "gateway_upstream_errors_total", provider="anthropic", outcome="upstream_error", status="503") == 1
    )
    assert metric(text, "gateway_http_requests_total", surface="proxy", status="200") == 3
    assert metric(text, "gateway_http_requests_total", surface="proxy", status="401") == 1
    assert metric(text, "gateway_key_cache_lookups_total", result="hit") == 4
    assert metric(text, "gateway_key_cache_lookups_total", result="miss") == 1


def test_proxy_responses_and_their_log_lines_carry_the_request_id(proxy_env: ProxyEnv, alice_key: str) -> None:
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(JsonFormatter())
    logging.getLogger("gateway").addHandler(handler)
    try:
        relayed = messages(proxy_env, alice_key, stream=True)
        refused = messages(proxy_env, "gwk_" + "y" * 43)  # logged: an unknown key
    finally:
        logging.getLogger("gateway").removeHandler(handler)

    relayed_id = relayed.headers["x-gateway-request-id"]
    assert relayed.headers["request-id"].startswith("req_")  # the provider's own id is relayed alongside
    assert relayed_id != refused.headers["x-gateway-request-id"]
    entries = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert {
        "message": "proxy call with an unknown or revoked API key",
        "id": refused.headers["x-gateway-request-id"],
    } in [{"message": e["message"], "id": e.get("request_id")} for e in entries]
