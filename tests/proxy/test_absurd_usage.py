"""An upstream reporting absurd usage costs that figure (clamped or dropped, warned, counted), never a row or the
rows written with it."""

from __future__ import annotations

import httpx
import pytest

from gateway_api.db.models import Outcome
from gateway_api.usage.validation import MAX_TOKEN_COUNT
from tests.proxy.conftest import SONNET, ProxyEnv
from tests.proxy.test_observability import metric
from tests.support.fakes.provider_bodies import FakeUsage

# (what the upstream reports as input_tokens, what the row records)
ABSURD_INPUTS: list[tuple[object, int]] = [
    (10**30, MAX_TOKEN_COUNT),  # beyond 64 bits: clamped to what the column holds
    (2**40, MAX_TOKEN_COUNT),  # fits SQLite, not PostgreSQL's INTEGER: clamped on both
    (-5, 0),  # negative: dropped
    (1.5, 0),  # not a count: dropped
    ("12", 0),  # a string: dropped
]


def call(env: ProxyEnv, key: str, stream: bool) -> httpx.Response:
    body = {"model": SONNET, "max_tokens": 8, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(f"{env.anthropic_url}/v1/messages", headers={"x-api-key": key}, json=body, timeout=30)


@pytest.mark.parametrize("stream", [False, True])
def test_absurd_usage_values_cost_one_figure_never_the_pipeline(
    proxy_env: ProxyEnv, alice_key: str, stream: bool, caplog: pytest.LogCaptureFixture
) -> None:
    for reported, _ in ABSURD_INPUTS:
        proxy_env.fake.configure(usage=FakeUsage(input_tokens=reported, output_tokens=7))  # type: ignore[arg-type]
        assert call(proxy_env, alice_key, stream).status_code == 200
    proxy_env.fake.configure(usage=FakeUsage(input_tokens=30, output_tokens=7))
    assert call(proxy_env, alice_key, stream).status_code == 200

    rows = proxy_env.usage_rows(len(ABSURD_INPUTS) + 1)

    assert [row.input_tokens for row in rows] == [recorded for _, recorded in ABSURD_INPUTS] + [30]
    assert {(row.outcome, row.output_tokens) for row in rows} == {(Outcome.ok, 7)}
    # A stream reports input twice (message_start and message_delta): each report is read, corrected and counted.
    corrections = len(ABSURD_INPUTS) * (2 if stream else 1)
    text = httpx.get(f"{proxy_env.live.url}/metrics", timeout=30).text
    assert metric(text, "gateway_usage_values_corrected_total") == corrections
    assert metric(text, "gateway_usage_dead_letters_total") == 0
    assert metric(text, "gateway_usage_write_failures_total") == 0
    assert metric(text, "gateway_usage_records_written_total") == len(rows)
    warnings = [r.getMessage() for r in caplog.records if r.name == "gateway.usage" and r.levelname == "WARNING"]
    assert len(warnings) == corrections
    assert any("'12'" in message for message in warnings)
